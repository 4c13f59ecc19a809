package sigil

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	testSecret  = "whsec_CxRfwMVY1OpY697jic9KxxAp1JqLxGqI71hHbvvfN/E="
	otherSecret = "whsec_dGhlIG90aGVyIHNlY3JldCBvZiB0aGlydHktdHdvIGJ5dGVzISE="
)

const approvedBody = `{"action":{"description":"Cold boot engine ENG-001","params":{"engine_id":"ENG-001","reason":"Scheduled maintenance","requested_by":"alice@example.com","ticket":"MAINT-1234"},"type":"cold_boot"},"groups_required":2,"groups_satisfied":["Engineering Leads","Security Team"],"groups_total":3,"request_id":"7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f","status":"approved","timestamp":"2026-04-24T10:35:42.000Z","type":"mpa.approved"}`

// signed returns the headers of a delivery signed with each secret at time ts.
func signed(t *testing.T, body, msgID string, ts time.Time, secrets ...string) http.Header {
	t.Helper()
	var sigs []string
	for _, s := range secrets {
		sig, err := SignWebhook(s, msgID, ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return h
}

func webhookCode(err error) string {
	var whErr *WebhookError
	if errors.As(err, &whErr) {
		return whErr.Code
	}
	return ""
}

func TestSignWebhookMatchesTheStandardWebhooksSpecExample(t *testing.T) {
	got, err := SignWebhook(specSecret, specMsgID, time.Unix(specTimestamp, 0), []byte(specBody))
	if err != nil || got != specSignature {
		t.Fatalf("SignWebhook = %q, %v; want %q", got, err, specSignature)
	}
	// VerifyWebhook accepts the spec's signature (and then refuses the body, which is not a
	// Sigil event: it has no type).
	h := http.Header{"Webhook-Id": {specMsgID}, "Webhook-Timestamp": {strconv.Itoa(specTimestamp)}, "Webhook-Signature": {specSignature}}
	_, err = VerifyWebhookWithOptions([]byte(specBody), h, specSecret, WebhookVerifyOptions{Now: time.Unix(specTimestamp, 0)})
	if webhookCode(err) != WebhookInvalidBody || !errors.Is(err, ErrWebhookBody) {
		t.Fatalf("got %v, want the signature accepted and the body refused", err)
	}
	// One bit off in the signature: refused as a signature mismatch.
	h.Set("Webhook-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=")
	_, err = VerifyWebhookWithOptions([]byte(specBody), h, specSecret, WebhookVerifyOptions{Now: time.Unix(specTimestamp, 0)})
	if !errors.Is(err, ErrWebhookSignature) {
		t.Fatalf("got %v", err)
	}
}

func TestVerifyWebhookReturnsTheTypedEvent(t *testing.T) {
	now := time.Now()
	event, err := VerifyWebhook([]byte(approvedBody), signed(t, approvedBody, "evt_0123", now, testSecret), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if event.ID != "evt_0123" || event.Type != EventMPAApproved || !event.IsMPA() || event.IsDevice() ||
		event.RequestID != testRequestID || event.Status != StatusApproved || event.GroupsRequired != 2 || event.GroupsTotal != 3 ||
		strings.Join(event.GroupsSatisfied, ",") != "Engineering Leads,Security Team" ||
		event.Action.Type != "cold_boot" || event.Action.Params["ticket"] != "MAINT-1234" ||
		!event.Timestamp.Equal(time.Date(2026, 4, 24, 10, 35, 42, 0, time.UTC)) || string(event.Raw) != approvedBody {
		t.Fatalf("event = %+v", event)
	}
}

func TestDeviceEventsVerifyToo(t *testing.T) {
	paired := `{"device_public_key":"A2sX0fLhLEJH+Lzm5WOkQPJ3A32BLeszoPShOUXYmMKW","fingerprint":"5baff89de7de5c1d7b6193a1567ceeeb397cbda88f03f725c8de328591bfc194","name":"Alice's phone","pairing_id":"45daab94-dec8-4b04-9019-77fbda0995de","timestamp":"2026-04-24T10:00:00.000Z","type":"device.paired"}`
	event, err := VerifyWebhook([]byte(paired), signed(t, paired, "evt_1", time.Now(), testSecret), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if event.Type != EventDevicePaired || !event.IsDevice() || event.Name != "Alice's phone" || event.PairingID != "45daab94-dec8-4b04-9019-77fbda0995de" ||
		event.DevicePublicKey != "A2sX0fLhLEJH+Lzm5WOkQPJ3A32BLeszoPShOUXYmMKW" || event.Fingerprint != "5baff89de7de5c1d7b6193a1567ceeeb397cbda88f03f725c8de328591bfc194" {
		t.Fatalf("event = %+v", event)
	}
	revoked := `{"fingerprint":"5baff89de7de5c1d7b6193a1567ceeeb397cbda88f03f725c8de328591bfc194","name":"Alice's phone","timestamp":"2026-04-24T11:00:00.000Z","type":"device.revoked"}`
	event, err = VerifyWebhook([]byte(revoked), signed(t, revoked, "evt_2", time.Now(), testSecret), testSecret)
	if err != nil || event.Type != EventDeviceRevoked || event.Fingerprint == "" {
		t.Fatalf("event = %+v, %v", event, err)
	}
	// A type this SDK does not know yet is still returned.
	future := `{"type":"mpa.escalated","request_id":"x","timestamp":"2026-04-24T11:00:00Z","level":2}`
	event, err = VerifyWebhook([]byte(future), signed(t, future, "evt_3", time.Now(), testSecret), testSecret)
	if err != nil || event.Type != "mpa.escalated" || !strings.Contains(string(event.Raw), `"level":2`) {
		t.Fatalf("event = %+v, %v", event, err)
	}
}

func TestTeamAndOverrideEventsVerifyToo(t *testing.T) {
	team := `{"added":["5baff89de7de5c1d7b6193a1567ceeeb397cbda88f03f725c8de328591bfc194"],"members":["5baff89de7de5c1d7b6193a1567ceeeb397cbda88f03f725c8de328591bfc194"],"min_members":1,"name":"Security Team","removed":[],"slug":"security","timestamp":"2026-04-24T11:00:00.000Z","type":"team.updated"}`
	event, err := VerifyWebhook([]byte(team), signed(t, team, "evt_2", time.Now(), testSecret), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if event.Type != EventTeamUpdated || !event.IsTeam() || event.IsOverride() || event.Slug != "security" || event.Name != "Security Team" ||
		event.MinMembers != 1 || len(event.Members) != 1 || len(event.Added) != 1 || len(event.Removed) != 0 {
		t.Fatalf("event = %+v", event)
	}
	reviewed := `{"action":{"description":"Restart the primary database","params":{},"type":"restart_db"},"groups_satisfied":["Security Team"],"outcome":"approved","override_id":"0d3c1f0e-7a55-4a43-9b0e-3c8f8f6b1a10","reason":"Production down","review_request_id":"6f1c2b1e-7a55-4a43-9b0e-3c8f8f6b1a11","timestamp":"2026-04-24T11:05:00.000Z","type":"override.reviewed"}`
	event, err = VerifyWebhook([]byte(reviewed), signed(t, reviewed, "evt_3", time.Now(), testSecret), testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if event.Type != EventOverrideReviewed || !event.IsOverride() || event.Outcome != StatusApproved || event.Reason != "Production down" ||
		event.ReviewRequestID != "6f1c2b1e-7a55-4a43-9b0e-3c8f8f6b1a11" || event.Action.Type != "restart_db" || event.GroupsSatisfied[0] != "Security Team" {
		t.Fatalf("event = %+v", event)
	}
}

func TestDuringASecretRotationEitherSecretVerifies(t *testing.T) {
	h := signed(t, approvedBody, "evt_rot", time.Now(), otherSecret, testSecret)
	if len(strings.Split(h.Get("webhook-signature"), " ")) != 2 {
		t.Fatalf("want two signatures: %q", h.Get("webhook-signature"))
	}
	for _, secret := range []string{testSecret, otherSecret} {
		if _, err := VerifyWebhook([]byte(approvedBody), h, secret); err != nil {
			t.Errorf("secret %s…: %v", secret[:10], err)
		}
	}
	if _, err := VerifyWebhook([]byte(approvedBody), h, "whsec_"+strings.Repeat("A", 43)+"="); !errors.Is(err, ErrWebhookSignature) {
		t.Errorf("a third secret: %v", err)
	}
	// The signatures may also come as separate header lines, among other versions.
	one := signed(t, approvedBody, "evt_rot", time.Now(), otherSecret).Get("webhook-signature")
	two := signed(t, approvedBody, "evt_rot", time.Now(), testSecret).Get("webhook-signature")
	h.Del("webhook-signature")
	h.Add("webhook-signature", "v1a,whatever "+one)
	h.Add("webhook-signature", "v2,"+strings.TrimPrefix(two, "v1,"))
	if _, err := VerifyWebhook([]byte(approvedBody), h, otherSecret); err != nil {
		t.Errorf("old secret among several lines: %v", err)
	}
	if _, err := VerifyWebhook([]byte(approvedBody), h, testSecret); !errors.Is(err, ErrWebhookSignature) {
		t.Errorf("a v2 signature must not count: %v", err)
	}
}

func TestTamperingIsRefused(t *testing.T) {
	now := time.Now()
	h := signed(t, approvedBody, "evt_t", now, testSecret)
	tampered := strings.Replace(approvedBody, `"status":"approved"`, `"status":"rejected"`, 1)
	cases := map[string]func() ([]byte, http.Header, string){
		"body": func() ([]byte, http.Header, string) { return []byte(tampered), h, testSecret },
		"body with a trailing newline": func() ([]byte, http.Header, string) {
			return []byte(approvedBody + "\n"), h, testSecret
		},
		"wrong secret": func() ([]byte, http.Header, string) { return []byte(approvedBody), h, otherSecret },
		"id": func() ([]byte, http.Header, string) {
			h2 := h.Clone()
			h2.Set("webhook-id", "evt_other")
			return []byte(approvedBody), h2, testSecret
		},
		"timestamp": func() ([]byte, http.Header, string) {
			h2 := h.Clone()
			h2.Set("webhook-timestamp", strconv.FormatInt(now.Unix()-1, 10))
			return []byte(approvedBody), h2, testSecret
		},
		"signature": func() ([]byte, http.Header, string) {
			h2 := h.Clone()
			sig := h2.Get("webhook-signature")
			h2.Set("webhook-signature", sig[:len(sig)-3]+"AA=")
			return []byte(approvedBody), h2, testSecret
		},
		"signature without version": func() ([]byte, http.Header, string) {
			h2 := h.Clone()
			h2.Set("webhook-signature", strings.TrimPrefix(h2.Get("webhook-signature"), "v1,"))
			return []byte(approvedBody), h2, testSecret
		},
		"empty signature": func() ([]byte, http.Header, string) {
			h2 := h.Clone()
			h2.Set("webhook-signature", "v1,")
			return []byte(approvedBody), h2, testSecret
		},
	}
	for name, tc := range cases {
		body, header, secret := tc()
		_, err := VerifyWebhook(body, header, secret)
		if !errors.Is(err, ErrWebhookSignature) || !errors.Is(err, ErrWebhookVerification) || webhookCode(err) != WebhookInvalidSignature {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestOldAndFutureTimestampsAreRefused(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true},
		{-300 * time.Second, true},
		{300 * time.Second, true},
		{-301 * time.Second, false},
		{301 * time.Second, false},
		{-24 * time.Hour, false},
		{10 * time.Hour, false},
	} {
		ts := now.Add(tc.offset)
		h := signed(t, approvedBody, "evt_ts", ts, testSecret)
		_, err := VerifyWebhookWithOptions([]byte(approvedBody), h, testSecret, WebhookVerifyOptions{Now: now})
		if tc.ok && err != nil {
			t.Errorf("offset %v: %v", tc.offset, err)
		}
		if !tc.ok && (webhookCode(err) != WebhookTimestampOutOfTolerance || !errors.Is(err, ErrWebhookTimestamp)) {
			t.Errorf("offset %v: got %v", tc.offset, err)
		}
	}
	// A validly signed but old delivery is refused by VerifyWebhook's real clock too.
	old := now.Add(-10 * time.Minute)
	if _, err := VerifyWebhook([]byte(approvedBody), signed(t, approvedBody, "evt_old", old, testSecret), testSecret); !errors.Is(err, ErrWebhookTimestamp) {
		t.Errorf("replayed delivery: %v", err)
	}
	// A custom tolerance.
	h := signed(t, approvedBody, "evt_tol", now.Add(-30*time.Second), testSecret)
	if _, err := VerifyWebhookWithOptions([]byte(approvedBody), h, testSecret, WebhookVerifyOptions{Tolerance: 10 * time.Second, Now: now}); !errors.Is(err, ErrWebhookTimestamp) {
		t.Errorf("tolerance 10 s: %v", err)
	}
}

func TestMalformedDeliveriesHaveTheirOwnCodes(t *testing.T) {
	now := time.Now()
	good := signed(t, approvedBody, "evt_m", now, testSecret)
	with := func(mutate func(http.Header)) http.Header {
		h := good.Clone()
		mutate(h)
		return h
	}
	for name, tc := range map[string]struct {
		header   http.Header
		secret   string
		code     string
		sentinel error
	}{
		"no id":             {with(func(h http.Header) { h.Del("webhook-id") }), testSecret, WebhookMissingHeaders, ErrWebhookHeaders},
		"blank id":          {with(func(h http.Header) { h.Set("webhook-id", "  ") }), testSecret, WebhookMissingHeaders, ErrWebhookHeaders},
		"two different ids": {with(func(h http.Header) { h.Add("webhook-id", "evt_x") }), testSecret, WebhookMissingHeaders, ErrWebhookHeaders},
		"no timestamp":      {with(func(h http.Header) { h.Del("webhook-timestamp") }), testSecret, WebhookMissingHeaders, ErrWebhookHeaders},
		"no signature":      {with(func(h http.Header) { h.Del("webhook-signature") }), testSecret, WebhookMissingHeaders, ErrWebhookHeaders},
		"timestamp in ms": {with(func(h http.Header) { h.Set("webhook-timestamp", strconv.FormatInt(now.UnixMilli(), 10)) }),
			testSecret, WebhookTimestampOutOfTolerance, ErrWebhookTimestamp},
		"timestamp exponent": {with(func(h http.Header) { h.Set("webhook-timestamp", "1.7e9") }), testSecret, WebhookInvalidTimestamp, ErrWebhookTimestamp},
		"negative timestamp": {with(func(h http.Header) { h.Set("webhook-timestamp", "-5") }), testSecret, WebhookInvalidTimestamp, ErrWebhookTimestamp},
		"huge timestamp":     {with(func(h http.Header) { h.Set("webhook-timestamp", "99999999999999999") }), testSecret, WebhookInvalidTimestamp, ErrWebhookTimestamp},
		"secret without key": {good, "whsec_", WebhookInvalidSecret, ErrWebhookSecret},
		"secret not base64":  {good, "whsec_not base64!", WebhookInvalidSecret, ErrWebhookSecret},
		"url-safe secret":    {good, "whsec_CxRfwMVY1OpY697jic9KxxAp1JqLxGqI71hHbvvfN_E=", WebhookInvalidSecret, ErrWebhookSecret},
		"empty secret":       {good, "", WebhookInvalidSecret, ErrWebhookSecret},
	} {
		_, err := VerifyWebhookWithOptions([]byte(approvedBody), tc.header, tc.secret, WebhookVerifyOptions{Now: now})
		if webhookCode(err) != tc.code || !errors.Is(err, tc.sentinel) || !errors.Is(err, ErrWebhookVerification) {
			t.Errorf("%s: got %v, want code %s", name, err, tc.code)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(testSecret, "whsec_")) {
			t.Errorf("%s: the error shows the secret", name)
		}
	}
	// The secret's whsec_ prefix is optional, as in the reference libraries.
	if _, err := VerifyWebhookWithOptions([]byte(approvedBody), good, strings.TrimPrefix(testSecret, "whsec_"), WebhookVerifyOptions{Now: now}); err != nil {
		t.Errorf("secret without prefix: %v", err)
	}
}

func TestASignedBodyThatIsNotAnEventIsRefused(t *testing.T) {
	for _, body := range []string{`not json`, `[1,2]`, `"mpa.approved"`, `null`, `{}`, `{"type":42}`, `{"type":"mpa.approved","timestamp":"yesterday"}`, `{"type":"mpa.approved"`} {
		_, err := VerifyWebhook([]byte(body), signed(t, body, "evt_b", time.Now(), testSecret), testSecret)
		if webhookCode(err) != WebhookInvalidBody || !errors.Is(err, ErrWebhookBody) {
			t.Errorf("%s: got %v", body, err)
		}
	}
}

func TestHeaderNamesMatchInAnyCase(t *testing.T) {
	h := signed(t, approvedBody, "evt_case", time.Now(), testSecret)
	raw := http.Header{}
	for k, v := range h {
		raw[strings.ToLower(k)] = v // as a hand-built map or an HTTP/2 server might give them
	}
	if _, err := VerifyWebhook([]byte(approvedBody), raw, testSecret); err != nil {
		t.Fatal(err)
	}
	upper := http.Header{}
	for k, v := range h {
		upper[strings.ToUpper(k)] = v
	}
	if _, err := VerifyWebhook([]byte(approvedBody), upper, testSecret); err != nil {
		t.Fatal(err)
	}
}

func TestSignWebhookRefusesBadInput(t *testing.T) {
	if _, err := SignWebhook("whsec_", "id", time.Now(), nil); !errors.Is(err, ErrWebhookSecret) {
		t.Errorf("bad secret: %v", err)
	}
	if _, err := SignWebhook(testSecret, "has space", time.Now(), nil); err == nil {
		t.Error("bad id accepted")
	}
	if _, err := SignWebhook(testSecret, "id", time.Unix(-1, 0), nil); err == nil {
		t.Error("negative time accepted")
	}
}
