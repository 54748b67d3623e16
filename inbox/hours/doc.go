// Package hours is the business-hours calendar: when agents are in, when they
// are back, and how much business time lies between two instants (SLA due
// times). It is pure logic, with no other import of the project.
//
// The rules:
//
//   - A calendar has one IANA time zone (timezone, required). Its time zone
//     data is embedded (time/tzdata), so it loads on machines without zoneinfo.
//   - weekly maps a day key (mon, tue, wed, thu, fri, sat, sun; lower case) to
//     a comma-separated list of ranges "HH:MM-HH:MM" in wall-clock time of that
//     zone; the hour may have one or two digits, "24:00" is allowed as an end
//     only, so "00:00-24:00" is the whole day. A missing day, an empty value or
//     "closed" means closed. At least one day must have a range.
//   - A range never crosses midnight: "22:00-02:00" is refused (write
//     "22:00-24:00" on one day and "00:00-02:00" on the next: ranges that touch,
//     also across midnight, join into one opening). Ranges of one day must not
//     overlap (touching is fine) and end after they start.
//   - holidays lists whole days "YYYY-MM-DD" in that zone: closed from 00:00
//     to 24:00 whatever weekly says.
//   - Ranges are wall-clock times: on the days of a daylight-saving jump a
//     range that crosses the jump is shortened or lengthened accordingly
//     (Europe/Rome's "00:00-24:00" lasts 23 h on the last Sunday of March and
//     25 h on the last Sunday of October). A wall time that does not exist (in
//     the spring gap) means the instant of the jump; a wall time that exists
//     twice (in the autumn overlap) means its first occurrence.
//   - Instants are half-open: a range "09:00-18:00" is open at 09:00:00 and
//     closed at 18:00:00.
//   - A nil *Calendar is "always open": Open is true, NextOpen(t) is t,
//     Add(t, d) is t.Add(d) and Between(a, b) is b.Sub(a).
//
// New lists every problem of a Config with its key path (timezone: …,
// weekly.mon: …, holidays[2]: …), joined with errors.Join.
package hours
