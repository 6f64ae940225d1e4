package keyops

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
)

// AES key wrap is in neither the standard library nor golang.org/x/crypto; this is RFC 3394
// (the index-based form of its wrapping process, section 2.2.1) and RFC 5649 (with padding)
// on a cipher.Block, tested with both RFCs' vectors.

// kwIV is the RFC 3394 default initial value.
var kwIV = []byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// kwpMagic is the first half of the RFC 5649 alternative initial value.
var kwpMagic = []byte{0xA6, 0x59, 0x59, 0xA6}

// kwWrap wraps p (a multiple of 8 bytes, at least 16) under b with the 8-byte initial value iv.
func kwWrap(b cipher.Block, iv, p []byte) []byte {
	n := len(p) / 8
	out := make([]byte, 8+len(p))
	copy(out[8:], p)
	var buf [16]byte
	copy(buf[:8], iv)
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			r := out[8*i : 8*i+8]
			copy(buf[8:], r)
			b.Encrypt(buf[:], buf[:])
			t := binary.BigEndian.Uint64(buf[:8]) ^ uint64(n*j+i)
			binary.BigEndian.PutUint64(buf[:8], t)
			copy(r, buf[8:])
		}
	}
	copy(out[:8], buf[:8])
	return out
}

// kwUnwrap inverts kwWrap: c is a multiple of 8 bytes, at least 24. It returns the recovered
// initial value and the key data; the caller checks the initial value.
func kwUnwrap(b cipher.Block, c []byte) (iv, p []byte) {
	n := len(c)/8 - 1
	p = make([]byte, 8*n)
	copy(p, c[8:])
	var buf [16]byte
	copy(buf[:8], c[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			r := p[8*(i-1) : 8*i]
			t := binary.BigEndian.Uint64(buf[:8]) ^ uint64(n*j+i)
			binary.BigEndian.PutUint64(buf[:8], t)
			copy(buf[8:], r)
			b.Decrypt(buf[:], buf[:])
			copy(r, buf[8:])
		}
	}
	return buf[:8], p
}

// kwOpen unwraps an RFC 3394 ciphertext; ok is false when the integrity check fails.
func kwOpen(b cipher.Block, c []byte) ([]byte, bool) {
	iv, p := kwUnwrap(b, c)
	if subtle.ConstantTimeCompare(iv, kwIV) != 1 {
		return nil, false
	}
	return p, true
}

// kwpWrap wraps p (1 byte or more) as RFC 5649 does.
func kwpWrap(b cipher.Block, p []byte) []byte {
	iv := make([]byte, 8)
	copy(iv, kwpMagic)
	binary.BigEndian.PutUint32(iv[4:], uint32(len(p)))
	padded := make([]byte, (len(p)+7)/8*8)
	copy(padded, p)
	if len(padded) == 8 {
		out := append(iv, padded...)
		b.Encrypt(out, out)
		return out
	}
	return kwWrap(b, iv, padded)
}

// kwpOpen unwraps an RFC 5649 ciphertext (a multiple of 8 bytes, at least 16); ok is false when
// the integrity check fails.
func kwpOpen(b cipher.Block, c []byte) ([]byte, bool) {
	var iv, p []byte
	if len(c) == 16 {
		buf := make([]byte, 16)
		b.Decrypt(buf, c)
		iv, p = buf[:8], buf[8:]
	} else {
		iv, p = kwUnwrap(b, c)
	}
	mli := int(binary.BigEndian.Uint32(iv[4:]))
	ok := subtle.ConstantTimeCompare(iv[:4], kwpMagic) == 1
	ok = ok && mli > len(p)-8 && mli <= len(p)
	if !ok {
		return nil, false
	}
	var pad byte
	for _, x := range p[mli:] {
		pad |= x
	}
	if pad != 0 {
		return nil, false
	}
	return p[:mli], true
}
