package server

import (
	"net/http"
)

// serveAdmin answers Coffer's own /admin/... routes (interface.md §3) other than the
// time shift: ARM-audience token of the administrator unless a route says otherwise.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authARM(w, r)
	if !ok {
		return
	}
	if !p.Admin {
		writeARMError(w, http.StatusForbidden, "Forbidden", "Only the administrator may use Coffer's admin routes.")
		return
	}
	writeARMError(w, http.StatusNotFound, "NotFound", "Coffer has no admin route at "+r.URL.Path+".")
}
