package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/coffer/coffer/internal/server"
)

// DefaultSubscription is the subscription of the default vault, the server's fixed id,
// so that a test names the default vault's ARM resource without asking for it.
const DefaultSubscription = server.DefaultSubscription

// Vaults returns armkeyvault's vaults client for subscription, configured as a user
// would configure it for a custom cloud (ClientOptions: Coffer as the authority and the
// resource manager).
func (s *Stack) Vaults(t testing.TB, subscription string) *armkeyvault.VaultsClient {
	t.Helper()
	c, err := armkeyvault.NewVaultsClient(subscription, s.Cred, &arm.ClientOptions{ClientOptions: s.options()})
	return must(t, c, err)
}

// ARM sends one management-plane request with the administrator's ARM token. path is
// relative to the server URL and carries its own query; body, when not nil, is sent as
// JSON (a string or []byte as is). It returns the status, the headers and the body.
func (s *Stack) ARM(t testing.TB, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	return s.Request(t, method, path, "Bearer "+s.ARMToken(t), body)
}

// Request sends one request to the bare address with the given Authorization header
// ("" for none).
func (s *Stack) Request(t testing.TB, method, path, authorization string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, strings.TrimSuffix(s.Server.URL(), "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}
