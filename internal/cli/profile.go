package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// profile is what `coffer login` stores: where the server is, which credentials file to
// use and which CA to trust. It holds paths, never a secret.
type profile struct {
	Server      string `json:"server"`       // bare address, e.g. https://127.0.0.1:8443
	Credentials string `json:"credentials"`  // absolute path of a credentials file
	CA          string `json:"ca,omitempty"` // absolute path of a PEM CA file; "" → SSL_CERT_FILE, system roots
}

// profileFile is the profile's name inside the config directory.
const profileFile = "profile.json"

// profilePath is $COFFER_CONFIG_DIR/profile.json, else <os.UserConfigDir()>/coffer/profile.json.
func profilePath() (string, error) {
	if d := os.Getenv("COFFER_CONFIG_DIR"); d != "" {
		return filepath.Join(d, profileFile), nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", &hintError{err: fmt.Errorf("no directory for the profile: %w", err),
			hints: []string{"set COFFER_CONFIG_DIR to a directory for coffer's profile"}}
	}
	return filepath.Join(d, "coffer", profileFile), nil
}

// loadProfile reads the profile; a missing file is the zero profile and no error.
func loadProfile() (profile, string, error) {
	path, err := profilePath()
	if err != nil {
		return profile{}, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return profile{}, path, nil
	}
	if err != nil {
		return profile{}, path, fmt.Errorf("read profile: %w", err)
	}
	var p profile
	if err := json.Unmarshal(b, &p); err != nil {
		return profile{}, path, &hintError{err: fmt.Errorf("profile %s is not valid JSON: %w", path, err),
			hints: []string{"run coffer login again to rewrite it"}}
	}
	return p, path, nil
}

// saveProfile writes the profile with mode 0600 (its directory 0700), replacing any
// earlier one in one rename so a reader never sees half a file.
func saveProfile(p profile) (string, error) {
	path, err := profilePath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create profile directory: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".profile-*.json")
	if err != nil {
		return "", fmt.Errorf("write profile: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("write profile: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return "", fmt.Errorf("write profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write profile: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write profile: %w", err)
	}
	return path, nil
}
