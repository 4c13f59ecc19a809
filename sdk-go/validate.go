package sigil

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The limits of an MPA request; the server enforces the same ones.
const (
	// MaxGroups is the most groups a request may have.
	MaxGroups = 20
	// MaxApproversPerGroup is the most approvers a group may have.
	MaxApproversPerGroup = 50
	// MaxGroupNameLength is the longest group name, in UTF-16 code units (as JavaScript counts).
	MaxGroupNameLength = 100
	// MaxActionBytes is the largest action (type, description and params) as canonical JSON.
	MaxActionBytes = 8192
	// MaxActionTypeLength is the longest action type, in UTF-16 code units.
	MaxActionTypeLength = 100
	// MaxActionDescriptionLength is the longest action description, in UTF-16 code units.
	MaxActionDescriptionLength = 1000
	// MaxParams is the most params an action may have.
	MaxParams = 50
	// MaxParamKeyLength is the longest param key, in UTF-16 code units.
	MaxParamKeyLength = 100
	// MaxParamValueLength is the longest string param value, in UTF-16 code units.
	MaxParamValueLength = 1000
	// MinExpiresInSeconds is the shortest expiry.
	MinExpiresInSeconds = 60
	// MaxExpiresInSeconds is the longest expiry (15 minutes).
	MaxExpiresInSeconds = 900
	// DefaultExpiresInSeconds is the expiry when ExpiresInSeconds is zero (5 minutes).
	DefaultExpiresInSeconds = 300
)

const msgExpires = "Invalid expires_in_seconds: must be between 60 and 900"

func invalidMPA(detail string) error {
	return &ValidationError{Message: "Invalid MPA request: " + detail}
}

// ValidateMPARequest checks an MPA request exactly as the server does: the same rules, in the
// same order, with the same messages (a port of validateMpaRequest in the protocol package).
// It returns nil or a [*ValidationError]. Whether each device is paired with your
// organisation (and not revoked) only the server can check.
//
// The messages include, for example:
//
//	Invalid MPA request: required cannot exceed number of groups
//	Invalid expires_in_seconds: must be between 60 and 900
//	Invalid MPA request: groups[0].approvers[1].fingerprint must be 64 lower-case hex characters
func ValidateMPARequest(req MPARequest) error {
	if req.Required < 1 {
		return invalidMPA("required must be an integer of at least 1")
	}
	if len(req.Groups) == 0 {
		return invalidMPA("groups must be a non-empty array")
	}
	if len(req.Groups) > MaxGroups {
		return invalidMPA(fmt.Sprintf("at most %d groups are allowed", MaxGroups))
	}
	if req.Required > len(req.Groups) {
		return invalidMPA("required cannot exceed number of groups")
	}
	expires := req.ExpiresInSeconds
	if expires == 0 {
		expires = DefaultExpiresInSeconds
	}
	if expires < MinExpiresInSeconds || expires > MaxExpiresInSeconds {
		return &ValidationError{Message: msgExpires}
	}

	names := make(map[string]bool, len(req.Groups))
	devices := make(map[string]string)
	teams := make(map[string]string)
	for gi, group := range req.Groups {
		if group.Team != "" && len(group.Approvers) > 0 {
			return invalidMPA(fmt.Sprintf("groups[%d] names a team and lists approvers; give one or the other", gi))
		}
		name, err := checkText(group.Name, fmt.Sprintf("groups[%d].name", gi), MaxGroupNameLength)
		if err != nil {
			return err
		}
		if names[name] {
			return invalidMPA(`duplicate group name "` + name + `"`)
		}
		names[name] = true
		if group.Team != "" {
			if !teamSlugPattern.MatchString(group.Team) {
				return invalidMPA(fmt.Sprintf("groups[%d].team must be a team slug: 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit", gi))
			}
			if seenIn, seen := teams[group.Team]; seen {
				return invalidMPA(`team "` + group.Team + `" is named by more than one group ("` + seenIn + `" and "` + name + `")`)
			}
			teams[group.Team] = name
			continue
		}
		if len(group.Approvers) == 0 {
			return invalidMPA(`group "` + name + `" has no approvers`)
		}
		if len(group.Approvers) > MaxApproversPerGroup {
			return invalidMPA(fmt.Sprintf(`group "%s" has more than %d approvers`, name, MaxApproversPerGroup))
		}
		for ai, approver := range group.Approvers {
			where := fmt.Sprintf("groups[%d].approvers[%d].", gi, ai)
			fingerprint := approver.Fingerprint
			if !fingerprintPattern.MatchString(fingerprint) {
				return invalidMPA(where + "fingerprint must be 64 lower-case hex characters")
			}
			key, err := decodePublicKey(approver.DevicePublicKey)
			if err != nil {
				return invalidMPA(where + err.Error())
			}
			if fingerprintOfBytes(key) != fingerprint {
				return invalidMPA("fingerprint " + fingerprint + " does not match its device_public_key")
			}
			if seenIn, seen := devices[fingerprint]; seen {
				if seenIn == name {
					return invalidMPA("device " + fingerprint + ` appears twice in group "` + name + `"`)
				}
				return invalidMPA("device " + fingerprint + ` appears in more than one group ("` + seenIn + `" and "` + name + `")`)
			}
			devices[fingerprint] = name
		}
	}
	if err := validateAction(req.Action); err != nil {
		return err
	}
	if req.RequestedBy != nil {
		return validateRequestedBy(*req.RequestedBy)
	}
	return nil
}

var (
	// teamSlugPattern is a team's slug, as the protocol package's TEAM_SLUG.
	teamSlugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// ownerIDPattern is a device owner's id, as the protocol package's OWNER_ID.
	ownerIDPattern = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)
)

func validateRequestedBy(r RequestedBy) error {
	if (r.Fingerprint == "") == (r.ID == "") {
		return invalidMPA("requested_by must have exactly one of fingerprint or id")
	}
	if r.Fingerprint != "" {
		if !fingerprintPattern.MatchString(r.Fingerprint) {
			return invalidMPA("requested_by.fingerprint must be 64 lower-case hex characters")
		}
		return nil
	}
	if !ownerIDPattern.MatchString(r.ID) {
		return invalidMPA("requested_by.id must be 1-200 printable ASCII characters without spaces")
	}
	return nil
}

func validateAction(action MPAAction) error {
	typ, err := checkText(action.Type, "action.type", MaxActionTypeLength)
	if err != nil {
		return err
	}
	description, err := checkText(action.Description, "action.description", MaxActionDescriptionLength)
	if err != nil {
		return err
	}
	if len(action.Params) > MaxParams {
		return invalidMPA(fmt.Sprintf("action.params may have at most %d entries", MaxParams))
	}
	// The server sees the params as JSON: check each value as it will be encoded, in the
	// order the server's JSON.parse enumerates the keys.
	params := make(map[string]any, len(action.Params))
	labels := make(map[string]string, len(action.Params))
	for _, key := range jsKeyOrder(action.Params) {
		if !utf8.ValidString(key) {
			return invalidMPA("action.params keys must be valid Unicode")
		}
		if utf16Len(key) > MaxParamKeyLength {
			return invalidMPA(fmt.Sprintf("action.params keys must be at most %d characters", MaxParamKeyLength))
		}
		if problem := textProblem(key); problem != "" {
			return invalidMPA(`action.params key "` + key + `" ` + problem)
		}
		value, ok := paramAsJSON(action.Params[key])
		if !ok {
			return invalidMPA("action.params." + key + " must be a string, number or boolean")
		}
		if s, isString := value.(string); isString {
			if !utf8.ValidString(s) {
				return invalidMPA("action.params." + key + " is not valid Unicode")
			}
			if utf16Len(s) > MaxParamValueLength {
				return invalidMPA(fmt.Sprintf("action.params.%s must be at most %d characters", key, MaxParamValueLength))
			}
			if problem := textProblem(s); problem != "" {
				return invalidMPA("action.params." + key + " " + problem)
			}
		}
		// Two params an approver cannot tell apart, or one that passes for a line of the
		// screen itself, are refused.
		if labelSkeleton(key) == "" {
			return invalidMPA(`action.params key "` + key + `" has no letter or digit to label it with`)
		}
		skeleton := labelSkeleton(paramLabel(key))
		if reserved, ok := reservedLabel(skeleton); ok {
			return invalidMPA(`action.params key "` + key + `" would look like the approval screen's own "` + reserved + `" line`)
		}
		if twin, ok := labels[skeleton]; ok {
			return invalidMPA(`action.params keys "` + twin + `" and "` + key + `" would look alike on the approval screen`)
		}
		labels[skeleton] = key
		params[key] = value
	}
	canonical, err := canonicalJSON(map[string]any{"type": typ, "description": description, "params": params})
	if err != nil || len(canonical) > MaxActionBytes {
		return invalidMPA(fmt.Sprintf("action must be at most %d bytes as JSON", MaxActionBytes))
	}
	return nil
}

// checkText applies the server's rules for names, types and descriptions: present and not
// only whitespace (as JavaScript's trim sees it), valid Unicode, at most max UTF-16 code units,
// and nothing an approver could not see (textProblem).
func checkText(value, field string, max int) (string, error) {
	if strings.TrimFunc(value, isJSWhitespace) == "" {
		return "", invalidMPA(field + " is required")
	}
	if !utf8.ValidString(value) {
		return "", invalidMPA(field + " is not valid Unicode")
	}
	if utf16Len(value) > max {
		return "", invalidMPA(fmt.Sprintf("%s must be at most %d characters", field, max))
	}
	if problem := textProblem(value); problem != "" {
		return "", invalidMPA(field + " " + problem)
	}
	return value, nil
}

// isJSWhitespace is what String.prototype.trim removes: WhiteSpace and LineTerminator.
func isJSWhitespace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00a0, 0xfeff, 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

// paramAsJSON returns a param value as the server will see it (string, float64 or bool), or
// false when its JSON form is anything else (null, an object, an array, a non-finite number).
// A string value is returned unencoded so that invalid UTF-8 can be reported.
func paramAsJSON(v any) (any, bool) {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, false
	}
	if _, isNumber := rv.Interface().(json.Number); !isNumber && rv.Kind() == reflect.String && !rv.Type().Implements(marshalerType) && !reflect.PointerTo(rv.Type()).Implements(marshalerType) {
		return rv.String(), true
	}
	encoded, err := json.Marshal(rv.Interface())
	if err != nil {
		return nil, false
	}
	var decoded any
	if err := json.Unmarshal(encoded, &decoded); err != nil {
		return nil, false // e.g. a json.Number too large for a float64: Infinity to the server
	}
	switch decoded.(type) {
	case string, float64, bool:
		return decoded, true
	}
	return nil, false
}

var marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()

// jsKeyOrder is the order in which JavaScript enumerates the keys of the params object the
// server parses: array-index keys ("0", "1", ...) ascending, then the rest in the order
// encoding/json writes them (sorted by bytes).
func jsKeyOrder(params map[string]any) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ai, aIndex := arrayIndex(keys[i])
		bi, bIndex := arrayIndex(keys[j])
		switch {
		case aIndex && bIndex:
			return ai < bi
		case aIndex != bIndex:
			return aIndex
		}
		return keys[i] < keys[j]
	})
	return keys
}

// arrayIndex reports whether key is a canonical array index (0 to 2^32-2).
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (len(key) > 1 && key[0] == '0') || !isDigits(key) {
		return 0, false
	}
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil || n > 1<<32-2 {
		return 0, false
	}
	return n, true
}
