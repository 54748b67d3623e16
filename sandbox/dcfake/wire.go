package dcfake

import "time"

// This file renders the stand-in's state in Discord's JSON shapes (API v9).

// discordTime formats a timestamp the way Discord does (ISO 8601, microseconds).
func discordTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func (s *Server) userJSONLocked(id string) map[string]any {
	u, ok := s.users[id]
	if !ok {
		u = &User{ID: id, Username: "user" + id}
	}
	var global any
	if u.GlobalName != "" {
		global = u.GlobalName
	}
	out := map[string]any{
		"id":            u.ID,
		"username":      u.Username,
		"global_name":   global,
		"discriminator": "0",
		"avatar":        nil,
		"public_flags":  0,
	}
	if u.Bot {
		out["bot"] = true
		out["discriminator"] = "0000"
	}
	return out
}

func (s *Server) channelJSONLocked(c *channel) map[string]any {
	out := map[string]any{
		"id":    c.ID,
		"type":  c.Type,
		"flags": 0,
	}
	switch c.Type {
	case channelDM:
		out["recipients"] = []any{s.userJSONLocked(c.RecipientID)}
		out["last_message_id"] = nil
	case channelGuildText:
		out["guild_id"] = c.GuildID
		out["name"] = c.Name
		out["position"] = 0
		out["parent_id"] = nil
		out["topic"] = nil
		out["nsfw"] = false
		out["rate_limit_per_user"] = 0
		out["permission_overwrites"] = []any{}
	case channelPublicThread:
		out["guild_id"] = c.GuildID
		out["name"] = c.Name
		out["parent_id"] = c.ParentID
		out["owner_id"] = c.OwnerID
		out["rate_limit_per_user"] = 0
		out["message_count"] = 0
		out["member_count"] = 1
		out["total_message_sent"] = 0
		out["thread_metadata"] = map[string]any{
			"archived":              false,
			"auto_archive_duration": 1440,
			"archive_timestamp":     discordTime(c.CreatedAt),
			"locked":                false,
			"create_timestamp":      discordTime(c.CreatedAt),
		}
	}
	return out
}

// messageJSONLocked renders m; without MESSAGE_CONTENT (contentOK false) a
// guild message carries no content, attachments, embeds or components.
func (s *Server) messageJSONLocked(m *message, contentOK bool) map[string]any {
	attachments := []any{}
	embeds := []any{}
	components := []any{}
	content := m.Content
	if contentOK {
		for _, a := range m.Attachments {
			aj := map[string]any{
				"id":        a.ID,
				"filename":  a.Filename,
				"size":      a.Size,
				"url":       a.URL,
				"proxy_url": a.URL,
			}
			if a.ContentType != "" {
				aj["content_type"] = a.ContentType
			}
			if a.DurationSecs > 0 {
				aj["duration_secs"] = a.DurationSecs
				aj["waveform"] = "AAAAAAAAAAAA"
			}
			attachments = append(attachments, aj)
		}
		for _, e := range m.Embeds {
			ej := map[string]any{"type": e.Type}
			if e.Title != "" {
				ej["title"] = e.Title
			}
			if e.Description != "" {
				ej["description"] = e.Description
			}
			if e.URL != "" {
				ej["url"] = e.URL
			}
			if e.ImageURL != "" {
				ej["image"] = map[string]any{"url": e.ImageURL, "proxy_url": e.ImageURL}
			}
			embeds = append(embeds, ej)
		}
		components = append(components, m.rows...)
	} else {
		content = ""
	}
	out := map[string]any{
		"id":               m.ID,
		"type":             0,
		"channel_id":       m.ChannelID,
		"author":           s.userJSONLocked(m.AuthorID),
		"content":          content,
		"timestamp":        discordTime(m.Timestamp),
		"edited_timestamp": nil,
		"tts":              false,
		"mention_everyone": false,
		"mentions":         []any{},
		"mention_roles":    []any{},
		"attachments":      attachments,
		"embeds":           embeds,
		"components":       components,
		"pinned":           false,
		"flags":            m.flags,
	}
	if m.Nonce != "" {
		out["nonce"] = m.Nonce
	}
	if m.GuildID != "" {
		out["guild_id"] = m.GuildID
	}
	return out
}

// memberJSON is the partial member Discord attaches to guild MESSAGE_CREATE.
func memberJSON(joined time.Time) map[string]any {
	return map[string]any{
		"roles":     []any{},
		"joined_at": discordTime(joined),
		"nick":      nil,
		"deaf":      false,
		"mute":      false,
		"flags":     0,
	}
}

// apiError is Discord's REST error body.
type apiError struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Errors  map[string]any `json:"errors,omitempty"`
}

// Discord's REST error codes used here, with their usual HTTP status.
var errorStatus = map[int]int{
	10003:  404, // Unknown Channel
	10008:  404, // Unknown Message
	10013:  404, // Unknown User
	10062:  404, // Unknown interaction
	40003:  403, // You are opening direct messages too fast
	40060:  400, // Interaction has already been acknowledged
	50001:  403, // Missing Access
	50006:  400, // Cannot send an empty message
	50007:  403, // Cannot send messages to this user
	50013:  403, // Missing Permissions
	50024:  400, // Cannot execute action on this channel type
	50035:  400, // Invalid Form Body
	40005:  413, // Request entity too large
	160004: 400, // A thread has already been created for this message
}

var errorText = map[int]string{
	10003:  "Unknown Channel",
	10008:  "Unknown Message",
	10013:  "Unknown User",
	10062:  "Unknown interaction",
	40003:  "You are opening direct messages too fast.",
	40060:  "Interaction has already been acknowledged.",
	50001:  "Missing Access",
	50006:  "Cannot send an empty message",
	50007:  "Cannot send messages to this user",
	50013:  "Missing Permissions",
	50024:  "Cannot execute action on this channel type",
	50035:  "Invalid Form Body",
	40005:  "Request entity too large",
	160004: "A thread has already been created for this message",
}
