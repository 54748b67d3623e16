package kit

import (
	"net/url"
	"strings"
)

// errBaseURL is BaseURL's one error: the value is not repeated, since a
// URL with credentials would carry a secret.
type errBaseURL struct{}

func (errBaseURL) Error() string {
	return "must be a base URL, scheme (http or https) and host only, such as https://api.example.com (no path, query, fragment or credentials)"
}

// BaseURL checks an api_url setting and returns it normalized (scheme and
// lower-case host, no trailing slash); an empty raw gives def. The connector
// appends the platform's own paths (/bot<token>/..., /cgi-bin/...,
// /api/v9/...) to it.
func BaseURL(raw, def string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return def, nil
	}
	u, err := url.Parse(raw)
	if err != nil ||
		(u.Scheme != "http" && u.Scheme != "https") ||
		u.Hostname() == "" || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errBaseURL{}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}
