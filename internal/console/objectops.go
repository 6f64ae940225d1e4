package console

import (
	"context"

	"github.com/coffer/coffer/internal/vault"
)

// objectOps is what the console does to the objects of one collection ("secrets",
// "keys", "certificates") through the domain's vault.Objects, the same for each.
type objectOps struct {
	list     func(ctx context.Context, vr vault.Request, v, after string) ([]objRow, string, error)
	versions func(ctx context.Context, vr vault.Request, v, name, after string) ([]objRow, string, error)
	del      func(ctx context.Context, vr vault.Request, v, name string) (vault.Object, error)
	recover  func(ctx context.Context, vr vault.Request, v, name string) error
	purge    func(ctx context.Context, vr vault.Request, v, name string) error
}

// objects are the objectOps of each collection.
var objects = map[string]objectOps{
	"secrets": opsOf(vault.Request.Secrets, func(x vault.Secret) (vault.Object, objRow) {
		return x.Object, row(x.Object, x.ID, x.ContentType, x.Attributes)
	}),
	"keys": opsOf(vault.Request.Keys, func(x vault.Key) (vault.Object, objRow) {
		return x.Object, row(x.Object, x.ID, "", x.Attributes)
	}),
	"certificates": opsOf(vault.Request.Certificates, func(x vault.Certificate) (vault.Object, objRow) {
		return x.Object, row(x.Object, x.ID, "", x.Attributes)
	}),
}

// opsOf is the objectOps of the objects of returns; show is a version's object head
// and its row in a list.
func opsOf[R any](of func(vault.Request) vault.Objects[R], show func(R) (vault.Object, objRow)) objectOps {
	rows := func(xs []R) []objRow {
		var out []objRow
		for _, x := range xs {
			_, r := show(x)
			out = append(out, r)
		}
		return out
	}
	return objectOps{
		list: func(ctx context.Context, vr vault.Request, v, after string) ([]objRow, string, error) {
			xs, next, err := of(vr).List(ctx, v, after, objectPage)
			return rows(xs), next, err
		},
		versions: func(ctx context.Context, vr vault.Request, v, name, after string) ([]objRow, string, error) {
			xs, next, err := of(vr).ListVersions(ctx, v, name, after, objectPage)
			return rows(xs), next, err
		},
		del: func(ctx context.Context, vr vault.Request, v, name string) (vault.Object, error) {
			x, err := of(vr).Delete(ctx, v, name)
			o, _ := show(x)
			return o, err
		},
		recover: func(ctx context.Context, vr vault.Request, v, name string) error {
			_, err := of(vr).Recover(ctx, v, name)
			return err
		},
		purge: func(ctx context.Context, vr vault.Request, v, name string) error {
			return of(vr).Purge(ctx, v, name)
		},
	}
}
