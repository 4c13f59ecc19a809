package sigil

// A minimal approver device for tests, written from the protocol: a P-256 key, its compressed
// public key and fingerprint, and signatures over ASCII tag || 0x00 || JCS(payload), encoded
// as 64-byte r||s with low S (s <= n/2) in standard base64. The protocol's own test vectors
// check it below.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

const (
	tagPairing     = "SIGIL-PAIRING-V1"
	tagMPADecision = "SIGIL-MPA-DECISION-V1"
)

// signingInput is the bytes a device signs: ASCII tag, a NUL byte, then JCS(payload).
func signingInput(tag string, payload any) ([]byte, error) {
	generic, err := toGeneric(payload)
	if err != nil {
		return nil, err
	}
	canonical, err := canonicalJSON(generic)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(tag), 0), canonical...), nil
}

// toGeneric turns any JSON-encodable value into nil/bool/float64/string/[]any/map[string]any.
func toGeneric(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

func signP1363(priv *ecdsa.PrivateKey, msg []byte) (string, error) {
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		return "", err
	}
	// (r, n-s) verifies too; Sigil accepts only the low-S form.
	n := elliptic.P256().Params().N
	if s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		s = new(big.Int).Sub(n, s)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.StdEncoding.EncodeToString(sig), nil
}

func verifyP1363(publicKey string, msg []byte, signature string) bool {
	keyBytes, err := decodePublicKey(publicKey)
	if err != nil {
		return false
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), keyBytes)
	sig, ok := decodeBase64Strict(signature)
	if !ok || len(sig) != 64 {
		return false
	}
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(new(big.Int).Rsh(elliptic.P256().Params().N, 1)) > 0 {
		return false // high S: refused, as Sigil refuses it
	}
	digest := sha256.Sum256(msg)
	return ecdsa.Verify(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, digest[:], new(big.Int).SetBytes(sig[:32]), s)
}

// actionDigest is the lower-case hex SHA-256 of JCS(action): what a decision commits to.
func actionDigest(action MPAAction) (string, error) {
	params := action.Params
	if params == nil {
		params = map[string]any{}
	}
	generic, err := toGeneric(map[string]any{"type": action.Type, "description": action.Description, "params": params})
	if err != nil {
		return "", err
	}
	canonical, err := canonicalJSON(generic)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// goDevice is an approver device implemented in Go.
type goDevice struct {
	key  testKey
	name string
}

func newGoDevice(t testing.TB, name string) *goDevice {
	return &goDevice{key: newTestKey(t), name: name}
}

func (d *goDevice) Name() string        { return d.name }
func (d *goDevice) Fingerprint() string { return d.key.fingerprint }
func (d *goDevice) PublicKey() string   { return d.key.publicKey }

// post sends a signed device call (no API key: devices authenticate by signature).
func devicePost(ctx context.Context, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: HTTP %d: %s", url, resp.StatusCode, data)
	}
	return nil
}

// Pair completes a pairing with its code (POST /v1/pairings/complete).
func (d *goDevice) Pair(ctx context.Context, serverURL, serverID, code string) error {
	payload := map[string]any{
		"purpose":           "pairing",
		"server_id":         serverID,
		"code":              code,
		"device_public_key": d.key.publicKey,
		"fingerprint":       d.key.fingerprint,
		"name":              d.name,
		"issued_at":         time.Now().UnixMilli(),
	}
	input, err := signingInput(tagPairing, payload)
	if err != nil {
		return err
	}
	sig, err := signP1363(d.key.priv, input)
	if err != nil {
		return err
	}
	return devicePost(ctx, serverURL+"/v1/pairings/complete", map[string]any{"payload": payload, "signature": sig})
}

// Decide signs and submits a decision on a request whose action it was shown.
func (d *goDevice) Decide(ctx context.Context, serverURL, serverID string, view *MPARequestView, decision string) error {
	digest, err := actionDigest(view.Action)
	if err != nil {
		return err
	}
	payload := map[string]any{
		"purpose":       "mpa-decision",
		"server_id":     serverID,
		"request_id":    view.RequestID,
		"fingerprint":   d.key.fingerprint,
		"decision":      decision,
		"action_digest": digest,
		"issued_at":     time.Now().UnixMilli(),
	}
	input, err := signingInput(tagMPADecision, payload)
	if err != nil {
		return err
	}
	sig, err := signP1363(d.key.priv, input)
	if err != nil {
		return err
	}
	return devicePost(ctx, serverURL+"/v1/mpa/requests/"+view.RequestID+"/decisions", map[string]any{"payload": payload, "signature": sig})
}

// ---- The protocol's test vectors ----

// protocolVectors reads a file of packages/protocol/test-vectors, or skips the test (fails it under CI).
func protocolVectors(t *testing.T, name string, into any) {
	t.Helper()
	path := filepath.Join("..", "packages", "protocol", "test-vectors", name)
	data, err := os.ReadFile(path)
	if err != nil {
		skipOrFail(t, "protocol test vectors not found (%v): run from sdk-go inside the Sigil repository", err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalJSONMatchesTheProtocolVectors(t *testing.T) {
	var vectors struct {
		Valid []struct {
			Name      string  `json:"name"`
			InputJSON *string `json:"input_json"`
			IEEEHex   string  `json:"ieee_hex"`
			Expected  string  `json:"expected"`
		} `json:"valid"`
		Invalid []struct {
			Name      string  `json:"name"`
			InputJSON *string `json:"input_json"`
			IEEEHex   string  `json:"ieee_hex"`
		} `json:"invalid"`
	}
	protocolVectors(t, "jcs.json", &vectors)
	if len(vectors.Valid) < 50 {
		t.Fatalf("only %d vectors", len(vectors.Valid))
	}
	for _, v := range vectors.Valid {
		var value any
		if v.InputJSON != nil {
			if err := json.Unmarshal([]byte(*v.InputJSON), &value); err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
		} else {
			bits, err := strconv.ParseUint(v.IEEEHex, 16, 64)
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			value = math.Float64frombits(bits)
		}
		got, err := canonicalJSON(value)
		if err != nil || string(got) != v.Expected {
			t.Errorf("%s: got %s, %v; want %s", v.Name, got, err, v.Expected)
		}
	}
	for _, v := range vectors.Invalid {
		if v.InputJSON != nil {
			// Lone surrogates: encoding/json turns them into U+FFFD, so Go never sees one.
			// The Go analogue, invalid UTF-8, is refused:
			if _, err := canonicalJSON("bad \xff"); err == nil {
				t.Error("invalid UTF-8 was canonicalized")
			}
			continue
		}
		bits, _ := strconv.ParseUint(v.IEEEHex, 16, 64)
		if _, err := canonicalJSON(math.Float64frombits(bits)); err == nil {
			t.Errorf("%s: canonicalized", v.Name)
		}
	}
}

func TestKeysAndFingerprintsMatchTheProtocolVectors(t *testing.T) {
	var vectors struct {
		Keys []struct {
			Label       string `json:"label"`
			PEM         string `json:"private_key_pkcs8_pem"`
			PublicKey   string `json:"public_key"`
			Fingerprint string `json:"fingerprint"`
		} `json:"keys"`
		Invalid []struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
			Error     string `json:"error"`
		} `json:"invalid"`
	}
	protocolVectors(t, "keys.json", &vectors)
	for _, k := range vectors.Keys {
		fp, err := Fingerprint(k.PublicKey)
		if err != nil || fp != k.Fingerprint {
			t.Errorf("%s: Fingerprint = %s, %v; want %s", k.Label, fp, err, k.Fingerprint)
		}
		block, _ := pem.Decode([]byte(k.PEM))
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", k.Label, err)
		}
		priv := parsed.(*ecdsa.PrivateKey)
		if got := base64.StdEncoding.EncodeToString(elliptic.MarshalCompressed(elliptic.P256(), priv.X, priv.Y)); got != k.PublicKey {
			t.Errorf("%s: compressed key %s, want %s", k.Label, got, k.PublicKey)
		}
	}
	for _, v := range vectors.Invalid {
		_, err := Fingerprint(v.PublicKey)
		if err == nil || err.Error() != v.Error {
			t.Errorf("%s: got %v, want %q", v.Name, err, v.Error)
		}
	}
	if len(vectors.Invalid) < 10 {
		t.Fatalf("only %d invalid keys", len(vectors.Invalid))
	}
}

func TestTheTestDeviceSignsAsTheProtocolVectorsDo(t *testing.T) {
	var vectors struct {
		Valid []struct {
			Name             string         `json:"name"`
			Tag              string         `json:"tag"`
			PublicKey        string         `json:"public_key"`
			Payload          map[string]any `json:"payload"`
			Action           *MPAAction     `json:"action"`
			CanonicalPayload string         `json:"canonical_payload"`
			SigningInputHex  string         `json:"signing_input_hex"`
			Signature        string         `json:"signature"`
		} `json:"valid"`
		Invalid []struct {
			Name      string         `json:"name"`
			Tag       string         `json:"tag"`
			PublicKey string         `json:"public_key"`
			Payload   map[string]any `json:"payload"`
			Signature string         `json:"signature"`
		} `json:"invalid"`
	}
	protocolVectors(t, "signatures.json", &vectors)
	for _, v := range vectors.Valid {
		input, err := signingInput(v.Tag, v.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(input) != v.SigningInputHex || !bytes.HasSuffix(input, []byte(v.CanonicalPayload)) {
			t.Errorf("%s: signing input %x", v.Name, input)
		}
		if !verifyP1363(v.PublicKey, input, v.Signature) {
			t.Errorf("%s: the vector's signature does not verify", v.Name)
		}
		if v.Action != nil {
			digest, err := actionDigest(*v.Action)
			if err != nil || digest != v.Payload["action_digest"] {
				t.Errorf("%s: action digest %s, want %v", v.Name, digest, v.Payload["action_digest"])
			}
		}
	}
	for _, v := range vectors.Invalid {
		input, err := signingInput(v.Tag, v.Payload)
		if err == nil && verifyP1363(v.PublicKey, input, v.Signature) {
			t.Errorf("%s: verified", v.Name)
		}
	}
	// And a fresh signature of ours verifies.
	d := newGoDevice(t, "test")
	input, _ := signingInput(tagMPADecision, map[string]any{"purpose": "mpa-decision", "issued_at": 1})
	sig, err := signP1363(d.key.priv, input)
	if err != nil || !verifyP1363(d.PublicKey(), input, sig) || len(sig) != 88 {
		t.Fatalf("own signature %q: %v", sig, err)
	}
}
