package azapi

import "net/http"

// The operations that every object kind shares (get deleted, delete, recover, purge,
// backup, restore) have one shape on the wire; these helpers carry it, and each kind's
// handler only names its domain call and its rendering.

// named answers an operation on the object named in the path with its rendered result.
func named[T any](w http.ResponseWriter, r *request, op func(c ctxT, vault, name string) (T, error), render func(T) any) (int, error) {
	v, err := op(ctx(r), r.vault, r.param("name"))
	if err != nil {
		return 0, err
	}
	return ok(w, render(v))
}

// purged answers a purge: 204 with no body.
func purged(w http.ResponseWriter, r *request, op func(c ctxT, vault, name string) error) (int, error) {
	if err := op(ctx(r), r.vault, r.param("name")); err != nil {
		return 0, err
	}
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent, nil
}

// backedUp answers a backup with the blob as base64url.
func backedUp(w http.ResponseWriter, r *request, op func(c ctxT, vault, name string) ([]byte, error)) (int, error) {
	blob, err := op(ctx(r), r.vault, r.param("name"))
	if err != nil {
		return 0, err
	}
	return ok(w, wireBackup{Value: b64url.EncodeToString(blob)})
}

// restored decodes a restore body and answers with the restored object.
func restored[T any](w http.ResponseWriter, r *request, op func(c ctxT, vault string, blob []byte) (T, error), render func(T) any) (int, error) {
	var in wireBackup
	if err := decodeBody(r, maxRestoreBody, &in); err != nil {
		return 0, err
	}
	blob, err := decodeB64URL(in.Value)
	if err != nil || len(blob) == 0 {
		return 0, badParameter("The backup blob in 'value' must be the base64url text that backup returned.")
	}
	v, err := op(ctx(r), r.vault, blob)
	if err != nil {
		return 0, err
	}
	return ok(w, render(v))
}

// listed answers one page of a listing: maxresults and $skiptoken in, the rendered items
// and a nextLink out. The $skiptoken is the domain's own next, not the last item shown,
// so a page that shows nothing (the vault left out all it read) still moves on.
func listed[T, W any](w http.ResponseWriter, r *request, list func(c ctxT, v, after string, limit int) ([]T, string, error), render func(T) (W, bool)) (int, error) {
	limit, err := maxResults(r)
	if err != nil {
		return 0, err
	}
	after, err := skipToken(r)
	if err != nil {
		return 0, err
	}
	items, next, err := list(ctx(r), r.vault, after, limit)
	if err != nil {
		return 0, err
	}
	out := wireList[W]{Value: make([]W, 0, len(items))}
	for _, it := range items {
		if wi, show := render(it); show {
			out.Value = append(out.Value, wi)
		}
	}
	out.NextLink = nextLink(r, next, limit)
	return ok(w, out)
}
