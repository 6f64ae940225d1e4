package server_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// TestAuditAndLogsHoldNoSecrets: every request reaches the audit sink (a mutation twice:
// before and after the change), and neither audit records nor debug logs ever hold a
// secret value or a token.
func TestAuditAndLogsHoldNoSecrets(t *testing.T) {
	rec := &audit.Recorder{}
	logs, logged := logFile(t)
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) {
		c.Audit = rec
		c.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	c := st.Secrets(t, "default")
	const value = "canary-value-7f3a9c"
	if _, err := c.SetSecret(t.Context(), "audited", azsecrets.SetSecretParameters{Value: to.Ptr(value), Tags: map[string]*string{"t": to.Ptr("canary-tag-51e0")}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecret(t.Context(), "audited", "", nil); err != nil {
		t.Fatal(err)
	}
	c.SetSecret(t.Context(), "bad_name", azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil)

	var phases []string
	for _, e := range rec.Events() {
		phases = append(phases, e.Operation+"/"+e.Phase)
		if e.Operation == "SetSecret" && e.Phase == "outcome" && e.ObjectID == "secrets/audited" && (e.Status != 200 || e.Principal.ClientID != st.Creds.ClientID) {
			t.Errorf("outcome record %+v", e)
		}
	}
	// The SDK's first request has no token (401 challenge), then it gets one.
	want := "Authenticate/outcome IssueToken/outcome SetSecret/request SetSecret/outcome GetSecret/outcome SetSecret/request SetSecret/outcome"
	if got := strings.Join(phases, " "); got != want {
		t.Fatalf("audit records:\n got %s\nwant %s", got, want)
	}
	records, _ := json.Marshal(rec.Events())
	tok := st.ARMToken(t)
	for _, leak := range []string{value, "canary-tag-51e0", st.Creds.ClientSecret, tok[len(tok)-20:]} {
		if strings.Contains(string(records), leak) {
			t.Errorf("audit holds %q", leak)
		}
		if strings.Contains(logged(), leak) {
			t.Errorf("logs hold %q", leak)
		}
	}
}
