package sigil

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTolerance is the largest accepted distance, either way, between a delivery's
// webhook-timestamp and the current time.
const DefaultWebhookTolerance = 5 * time.Minute

const (
	webhookSecretPrefix     = "whsec_"
	webhookSignatureVersion = "v1"
	msgWebhookSecret        = `webhook secret must be "whsec_" followed by non-empty standard base64`
)

var (
	// Standard (not URL-safe) base64 with its padding, as the spec and reference libraries use.
	webhookSecretPattern = regexp.MustCompile(`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`)
	// A Unix time in whole seconds: digits only, no sign or exponent.
	webhookTimestampPattern = regexp.MustCompile(`^[0-9]{1,15}$`)
)

// WebhookEventType is the type of a webhook event.
type WebhookEventType string

// The webhook event types Sigil sends.
const (
	// EventMPACreated: a request was created (it carries ExpiresAt).
	EventMPACreated WebhookEventType = "mpa.created"
	// EventMPAApproved: a request reached quorum.
	EventMPAApproved WebhookEventType = "mpa.approved"
	// EventMPARejected: an approver denied a request.
	EventMPARejected WebhookEventType = "mpa.rejected"
	// EventMPATimeout: a request expired before reaching quorum.
	EventMPATimeout WebhookEventType = "mpa.timeout"
	// EventMPACancelled: a request was cancelled.
	EventMPACancelled WebhookEventType = "mpa.cancelled"
	// EventMPAFlagged: an approval was flagged as unusual (only to endpoints that list it; it
	// carries Group, Flags and ExtraGroupRequired, never the device).
	EventMPAFlagged WebhookEventType = "mpa.flagged"
	// EventDevicePaired: a device paired (it carries DevicePublicKey and PairingID).
	EventDevicePaired WebhookEventType = "device.paired"
	// EventDeviceRevoked: a device was revoked.
	EventDeviceRevoked WebhookEventType = "device.revoked"
	// EventTeamCreated: an approval team was created (Slug, Name, MinMembers, Members, Added).
	EventTeamCreated WebhookEventType = "team.created"
	// EventTeamUpdated: a team was renamed, its minimum changed, or members added or removed.
	EventTeamUpdated WebhookEventType = "team.updated"
	// EventTeamDeleted: a team was deleted (Removed lists its last members).
	EventTeamDeleted WebhookEventType = "team.deleted"
	// EventOverrideCreated: an emergency override was recorded, with its review request.
	EventOverrideCreated WebhookEventType = "override.created"
	// EventOverrideReviewed: an override's review request ended (Outcome).
	EventOverrideReviewed WebhookEventType = "override.reviewed"
)

// WebhookEvent is a verified webhook delivery. Which fields are set depends on Type: the mpa.*
// events carry the request fields, the device.* events the device fields. Event types this
// version does not know are returned too, with Type and Raw set.
type WebhookEvent struct {
	// ID is the webhook-id header: the event's ID, the same on every delivery attempt of the
	// event, so that a handler can ignore repeats.
	ID string `json:"-"`
	// Type is the event type, e.g. "mpa.approved".
	Type WebhookEventType `json:"type"`
	// Timestamp is when the request was created (mpa.created) or finished (other mpa.* events),
	// or when the device paired or was revoked.
	Timestamp time.Time `json:"timestamp"`

	// RequestID is the MPA request (mpa.* events).
	RequestID string `json:"request_id,omitempty"`
	// Status is the request's status (mpa.* events): pending for mpa.created.
	Status MPAStatus `json:"status,omitempty"`
	// GroupsSatisfied names the groups that approved, in order (mpa.* events).
	GroupsSatisfied []string `json:"groups_satisfied,omitempty"`
	// GroupsRequired is M (mpa.* events).
	GroupsRequired int `json:"groups_required,omitempty"`
	// GroupsTotal is N (mpa.* events).
	GroupsTotal int `json:"groups_total,omitempty"`
	// Action is the request's action (mpa.* events).
	Action MPAAction `json:"action"`
	// ExpiresAt is when the request expires (mpa.created only).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Group is the group whose approval was flagged (mpa.flagged).
	Group string `json:"group,omitempty"`
	// Flags are the kinds of anomaly (mpa.flagged): new_hour, rubber_stamp, new_network,
	// new_client, approval_burst.
	Flags []string `json:"flags,omitempty"`
	// ExtraGroupRequired says the flag raised the quorum by one group (mpa.flagged).
	ExtraGroupRequired bool `json:"extra_group_required,omitempty"`

	// Fingerprint is the device's fingerprint (device.* events).
	Fingerprint string `json:"fingerprint,omitempty"`
	// DevicePublicKey is the device's public key (device.paired).
	DevicePublicKey string `json:"device_public_key,omitempty"`
	// Name is the device's name (device.* events).
	Name string `json:"name,omitempty"`
	// PairingID is the pairing the device completed (device.paired).
	PairingID string `json:"pairing_id,omitempty"`

	// Slug is the team (team.* events); Name is its name, MinMembers its minimum.
	Slug       string `json:"slug,omitempty"`
	MinMembers int    `json:"min_members,omitempty"`
	// Members are the team's member fingerprints after the change (team.* events).
	Members []string `json:"members,omitempty"`
	// Added and Removed are the fingerprints the change added and removed (team.* events).
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`

	// OverrideID is the override (override.* events); ReviewRequestID its review request,
	// Reason why it was made, Action what was done, RequestedBy who did it (override.created).
	OverrideID      string       `json:"override_id,omitempty"`
	ReviewRequestID string       `json:"review_request_id,omitempty"`
	Reason          string       `json:"reason,omitempty"`
	RequestedBy     *RequestedBy `json:"requested_by,omitempty"`
	// Outcome is how the review request ended (override.reviewed): approved (endorsed),
	// rejected, timeout or cancelled.
	Outcome MPAStatus `json:"outcome,omitempty"`

	// Raw is the verified body, unchanged.
	Raw json.RawMessage `json:"-"`
}

// IsMPA reports whether the event is about an MPA request (an mpa.* type).
func (e *WebhookEvent) IsMPA() bool { return strings.HasPrefix(string(e.Type), "mpa.") }

// IsTeam reports whether the event is about an approval team (a team.* type).
func (e *WebhookEvent) IsTeam() bool { return strings.HasPrefix(string(e.Type), "team.") }

// IsOverride reports whether the event is about an emergency override (an override.* type).
func (e *WebhookEvent) IsOverride() bool { return strings.HasPrefix(string(e.Type), "override.") }

// IsDevice reports whether the event is about a device (a device.* type).
func (e *WebhookEvent) IsDevice() bool { return strings.HasPrefix(string(e.Type), "device.") }

// WebhookVerifyOptions tunes [VerifyWebhookWithOptions].
type WebhookVerifyOptions struct {
	// Tolerance is the largest accepted distance, either way, between webhook-timestamp and
	// now, in whole seconds; zero or less means DefaultWebhookTolerance (5 minutes).
	Tolerance time.Duration
	// Now is the current time; zero means time.Now(). For tests.
	Now time.Time
}

// VerifyWebhook checks a webhook delivery with the Standard Webhooks scheme and returns its
// event. Pass the body exactly as received, before any JSON parsing, the request's headers,
// and your endpoint's secret ("whsec_...").
//
// The delivery is accepted when its webhook-timestamp is within 5 minutes of now (either way)
// and any one of the space-separated v1 signatures in webhook-signature matches
// base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)); during a secret rotation the
// server sends one signature per secret. Signatures are compared in constant time. Otherwise
// the error is a [*WebhookError] (errors.Is(err, ErrWebhookSignature), ErrWebhookTimestamp,
// ...); answer such a delivery with HTTP 400 and do not act on it.
//
// Header names are matched without regard to case, so both an http.Header from a request and
// a hand-built map work.
func VerifyWebhook(body []byte, header http.Header, secret string) (*WebhookEvent, error) {
	return VerifyWebhookWithOptions(body, header, secret, WebhookVerifyOptions{})
}

// VerifyWebhookWithOptions is [VerifyWebhook] with a different tolerance or clock.
func VerifyWebhookWithOptions(body []byte, header http.Header, secret string, opts WebhookVerifyOptions) (*WebhookEvent, error) {
	key, ok := decodeWebhookSecret(secret)
	if !ok {
		return nil, &WebhookError{Code: WebhookInvalidSecret, Message: msgWebhookSecret}
	}
	msgID, okID := singleHeader(header, "webhook-id")
	timestamp, okTimestamp := singleHeader(header, "webhook-timestamp")
	signatures := headerValues(header, "webhook-signature")
	if !okID || !okTimestamp || len(signatures) == 0 {
		return nil, &WebhookError{Code: WebhookMissingHeaders, Message: "webhook-id, webhook-timestamp and webhook-signature must each be present exactly once"}
	}
	if !webhookTimestampPattern.MatchString(timestamp) {
		return nil, &WebhookError{Code: WebhookInvalidTimestamp, Message: "webhook-timestamp must be a Unix time in whole seconds"}
	}
	seconds, _ := strconv.ParseInt(timestamp, 10, 64) // at most 15 digits: always fits
	tolerance := opts.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	distance := now.Unix() - seconds
	if distance < 0 {
		distance = -distance
	}
	if distance > int64(tolerance/time.Second) {
		return nil, &WebhookError{
			Code:    WebhookTimestampOutOfTolerance,
			Message: fmt.Sprintf("webhook-timestamp %d is more than %d s away from now (%d)", seconds, int64(tolerance/time.Second), now.Unix()),
		}
	}

	expected := []byte(webhookHMAC(key, msgID, timestamp, body))
	matched := 0
	for _, entry := range strings.Split(strings.Join(signatures, " "), " ") {
		version, signature, found := strings.Cut(entry, ",")
		if !found || version != webhookSignatureVersion {
			continue
		}
		// Every candidate is compared, in constant time; the length of a signature is no secret.
		matched |= subtle.ConstantTimeCompare([]byte(signature), expected)
	}
	if matched != 1 {
		return nil, &WebhookError{Code: WebhookInvalidSignature, Message: "no matching v1 webhook signature"}
	}

	if !json.Valid(body) {
		return nil, &WebhookError{Code: WebhookInvalidBody, Message: "the webhook body is not valid JSON"}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil || probe == nil {
		return nil, &WebhookError{Code: WebhookInvalidBody, Message: "the webhook body is not an event object with a type"}
	}
	var eventType string
	if raw, has := probe["type"]; !has || json.Unmarshal(raw, &eventType) != nil {
		return nil, &WebhookError{Code: WebhookInvalidBody, Message: "the webhook body is not an event object with a type"}
	}
	event := &WebhookEvent{}
	if err := json.Unmarshal(body, event); err != nil {
		return nil, &WebhookError{Code: WebhookInvalidBody, Message: "the webhook body does not match the " + eventType + " event: " + err.Error()}
	}
	event.ID = msgID
	event.Raw = append(json.RawMessage(nil), body...)
	return event, nil
}

// SignWebhook returns the "v1,<base64>" signature of one message under one secret, as the
// server computes it. It is meant for testing your webhook handler:
//
//	sig, _ := sigil.SignWebhook(secret, "msg_1", time.Now(), body)
//	req.Header.Set("webhook-id", "msg_1")
//	req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
//	req.Header.Set("webhook-signature", sig)
func SignWebhook(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, ok := decodeWebhookSecret(secret)
	if !ok {
		return "", &WebhookError{Code: WebhookInvalidSecret, Message: msgWebhookSecret}
	}
	if !isVisibleASCII(msgID, 1<<16) {
		return "", errors.New("sigil: webhook message id must be non-empty visible ASCII")
	}
	if timestamp.Unix() < 0 {
		return "", errors.New("sigil: webhook timestamp must not be before 1970")
	}
	return webhookSignatureVersion + "," + webhookHMAC(key, msgID, strconv.FormatInt(timestamp.Unix(), 10), body), nil
}

func webhookHMAC(key []byte, msgID, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + timestamp + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// decodeWebhookSecret returns the HMAC key in a secret; the whsec_ prefix is optional.
func decodeWebhookSecret(secret string) ([]byte, bool) {
	encoded := strings.TrimPrefix(secret, webhookSecretPrefix)
	if encoded == "" || !webhookSecretPattern.MatchString(encoded) {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) == 0 {
		return nil, false
	}
	return key, true
}

// headerValues returns the trimmed, non-empty values of a header, its name matched without
// regard to case.
func headerValues(header http.Header, name string) []string {
	var values []string
	for key, vs := range header {
		if !strings.EqualFold(key, name) {
			continue
		}
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
	}
	return values
}

// singleHeader returns a header that must occur once; several different values are as good
// as none.
func singleHeader(header http.Header, name string) (string, bool) {
	values := headerValues(header, name)
	if len(values) == 0 {
		return "", false
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return "", false
		}
	}
	return values[0], true
}
