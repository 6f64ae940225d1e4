// Package wiretext holds two rules every plane applies to text that comes from a client: a
// request body must be UTF-8 JSON text, and a client's value shown in an error message is
// bounded. It is a leaf: it imports only the standard library.
package wiretext

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// MaxEcho is the most characters of one client-supplied value an error message shows: a
// valid object name (127 characters) still shows whole, a 100 KB api-version does not.
const MaxEcho = 128

// Echo returns s as an error message may show it: whole when it has at most MaxEcho
// characters, else its first MaxEcho characters followed by "…".
func Echo(s string) string {
	n := 0
	for i := range s {
		if n == MaxEcho {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// JSONTextProblem says why body is not UTF-8 JSON text, or returns "" when it is. Two
// things make it not: bytes that are not UTF-8, and a \u escape of one half of a UTF-16
// surrogate pair, which names no character. Go's JSON decoder would turn either into
// U+FFFD without a word, so the value stored would not be the value sent. The answer names
// a byte offset, never the body's contents (it may hold a secret).
func JSONTextProblem(body []byte) string {
	// Every set's body passes here: valid UTF-8 without a backslash, the usual body, is
	// told by two fast scans; the loops below find where a problem is.
	if utf8.Valid(body) && bytes.IndexByte(body, '\\') < 0 {
		return ""
	}
	for i := 0; i < len(body); {
		r, size := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Sprintf("byte %d is not valid UTF-8", i)
		}
		i += size
	}
	inString := false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			if i+1 == len(body) || body[i+1] != 'u' {
				i++ // the escaped character (the decoder checks it is one JSON allows)
				continue
			}
			switch r := hex4(body, i+2); {
			case r >= 0xDC00 && r <= 0xDFFF:
				return fmt.Sprintf("the \\u escape at byte %d is the second half of a UTF-16 surrogate pair without its first", i)
			case r >= 0xD800 && r <= 0xDBFF:
				if r2 := hex4(body, i+8); r2 < 0xDC00 || r2 > 0xDFFF || body[i+6] != '\\' || body[i+7] != 'u' {
					return fmt.Sprintf("the \\u escape at byte %d is the first half of a UTF-16 surrogate pair without its second", i)
				}
				i += 6
			}
			i += 5
		}
	}
	return ""
}

// hex4 reads four hexadecimal digits at b[i:], or returns -1.
func hex4(b []byte, i int) int {
	if i < 0 || len(b) < i+4 {
		return -1
	}
	n := 0
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		n = n<<4 | int(c)
	}
	return n
}
