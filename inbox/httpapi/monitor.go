package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/netip"

	"github.com/gin-gonic/gin"

	"github.com/tongdao/hub/models"
)

// Monitoring protects /metrics and the detail of /readyz. The zero value
// leaves them open (the default, as before); /healthz is always open.
type Monitoring struct {
	// Token, when set, is accepted as "Authorization: Bearer <token>".
	Token string
	// LoopbackOnly admits clients on loopback (the client IP as gin sees it
	// through the trusted proxies).
	LoopbackOnly bool
}

// protected reports whether access is restricted at all.
func (m Monitoring) protected() bool { return m.Token != "" || m.LoopbackOnly }

// detailKey marks, on /readyz, whether the client may see the detail.
const detailKey = "httpapi.monitoring_detail"

// monitorAllowed reports whether the request may see monitoring data.
func (s *Server) monitorAllowed(c *gin.Context) bool {
	m := s.monitoring
	if !m.protected() {
		return true
	}
	if m.Token != "" {
		if tok, ok := bearerToken(c.GetHeader("Authorization")); ok {
			got, want := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(m.Token))
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				return true
			}
		}
	}
	if m.LoopbackOnly {
		if a, err := netip.ParseAddr(c.ClientIP()); err == nil && a.Unmap().IsLoopback() {
			return true
		}
	}
	return false
}

// guardMonitoring refuses /metrics to clients not allowed to see it (401
// when a token would do, else 403) and tells readyz whether to show its
// detail. Other paths pass untouched.
func (s *Server) guardMonitoring(c *gin.Context) {
	switch c.Request.URL.Path {
	case "/metrics":
		if s.monitorAllowed(c) {
			break
		}
		if s.monitoring.Token != "" {
			c.Header("WWW-Authenticate", "Bearer")
			s.writeError(c, models.Errorf(models.EUNAUTHORIZED, "metrics need the monitoring token: send Authorization: Bearer TOKEN"))
		} else {
			s.writeError(c, models.Errorf(models.EFORBIDDEN, "metrics are served to loopback clients only"))
		}
		c.Abort()
		return
	case "/readyz":
		c.Set(detailKey, s.monitorAllowed(c))
	}
	c.Next()
}
