package admin

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/plane"
)

// principalJSON is a principal as GET /admin/principals lists it: never a secret.
type principalJSON struct {
	ObjectID string `json:"objectId"`
	ClientID string `json:"clientId"`
	Name     string `json:"name"`
	Admin    bool   `json:"admin"`
}

func (a *Admin) listPrincipals(w http.ResponseWriter, r *http.Request, _ *plane.Call, _ string) error {
	ps, err := a.opts.Principals.ListPrincipals(r.Context())
	if err != nil {
		return a.internal("list principals", err, "The principals could not be read.")
	}
	out := struct {
		Value []principalJSON `json:"value"`
	}{Value: make([]principalJSON, 0, len(ps))}
	for _, p := range ps {
		out.Value = append(out.Value, principalJSON{ObjectID: p.ObjectID, ClientID: p.ClientID, Name: p.Name, Admin: p.Admin})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *Admin) createPrincipal(w http.ResponseWriter, r *http.Request, c *plane.Call, _ string) error {
	var in struct {
		Name *string `json:"name"`
	}
	if err := readJSON(w, r, maxBody, &in, false); err != nil || in.Name == nil {
		return badBody(err, `The body must be {"name": "N"}, N the new principal's display name.`)
	}
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	creds, p, err := a.opts.Principals.CreatePrincipal(r.Context(), *in.Name)
	switch {
	case errors.Is(err, identity.ErrInvalidName):
		return errorf(http.StatusBadRequest, "BadRequest", "The principal name must be 1 to 128 characters with no control characters.")
	case err != nil:
		return a.internal("create principal", err, "The principal could not be created.")
	}
	c.Event.ObjectID = "principals/" + p.ObjectID
	a.opts.Log.Info("principal created", "name", p.Name, "objectId", p.ObjectID, "clientId", p.ClientID)
	return writeJSON(w, http.StatusCreated, creds)
}

func (a *Admin) deletePrincipal(w http.ResponseWriter, r *http.Request, c *plane.Call, objectID string) error {
	c.Event.ObjectID = "principals/" + quoteID(objectID)
	if _, err := uuid.Parse(objectID); err == nil {
		c.Event.ObjectID = "principals/" + objectID
	}
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	err := a.opts.Principals.DeletePrincipal(r.Context(), objectID)
	switch {
	case errors.Is(err, identity.ErrPrincipalNotFound):
		return errorf(http.StatusNotFound, "PrincipalNotFound", "No principal has the object id "+quoteID(objectID)+".")
	case errors.Is(err, identity.ErrAdminPrincipal):
		return errorf(http.StatusConflict, "Conflict", "The administrator principal cannot be deleted.")
	case err != nil:
		return a.internal("delete principal", err, "The principal could not be deleted.")
	}
	a.opts.Log.Info("principal deleted", "objectId", objectID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
