package sigil

import (
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
)

// The key format errors of the server (and the Node protocol package), word for word.
const (
	msgKeyEncoding   = "device_public_key must be a 33-byte compressed P-256 point in standard base64"
	msgKeyNotOnCurve = "device_public_key is not a point on P-256"
)

var (
	fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	base64Pattern      = regexp.MustCompile(`^[A-Za-z0-9+/]*={0,2}$`)
)

// keyFormatError is a malformed device public key; its message is one of the msgKey* constants.
type keyFormatError struct{ msg string }

func (e *keyFormatError) Error() string { return e.msg }

// decodeBase64Strict decodes standard base64 with padding, accepting only the one canonical
// encoding of each value (so no embedded newlines and no stray bits).
func decodeBase64Strict(s string) ([]byte, bool) {
	if len(s)%4 != 0 || !base64Pattern.MatchString(s) {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// decodePublicKey parses a 33-byte compressed P-256 point in standard base64 and checks that
// it is on the curve, with the server's messages.
func decodePublicKey(encoded string) ([]byte, error) {
	b, ok := decodeBase64Strict(encoded)
	if !ok || len(b) != 33 || (b[0] != 0x02 && b[0] != 0x03) {
		return nil, &keyFormatError{msgKeyEncoding}
	}
	if x, _ := elliptic.UnmarshalCompressed(elliptic.P256(), b); x == nil {
		return nil, &keyFormatError{msgKeyNotOnCurve}
	}
	return b, nil
}

// Fingerprint returns the fingerprint of a device public key: the lower-case hex SHA-256 of
// its 33 compressed bytes. The key must be a valid compressed P-256 point in standard base64;
// otherwise the error is a [*ValidationError] with the server's message.
func Fingerprint(devicePublicKey string) (string, error) {
	b, err := decodePublicKey(devicePublicKey)
	if err != nil {
		return "", &ValidationError{Message: err.Error()}
	}
	return fingerprintOfBytes(b), nil
}

func fingerprintOfBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
