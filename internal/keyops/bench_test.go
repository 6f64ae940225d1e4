package keyops_test

import (
	"testing"
)

// The in-process ceiling of the two commonest signing operations; RunParallel uses GOMAXPROCS
// goroutines. Compare ns/op of the serial and parallel forms for the per-core and the box rate.

func BenchmarkSignRS256_2048(b *testing.B) {
	benchSign(b, "rsa", "RS256", 32)
}

func BenchmarkSignES256(b *testing.B) {
	benchSign(b, "ec256", "ES256", 32)
}

func BenchmarkVerifyES256(b *testing.B) {
	k := testKey(b, "ec256")
	d := digest(32)
	sig, err := k.Sign("ES256", d)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := k.Verify("ES256", d, sig); !ok {
			b.Fatal("verify failed")
		}
	}
}

func BenchmarkEncryptA256GCM_1KiB(b *testing.B) {
	k := testKey(b, "oct256")
	pt := digest(1024)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, _, _, err := k.Encrypt("A256GCM", pt, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSign(b *testing.B, key, alg string, n int) {
	k := testKey(b, key)
	d := digest(n)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Sign(alg, d); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := k.Sign(alg, d); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
