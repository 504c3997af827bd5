// Package railclock reads a plain-text timetable and answers "when is the next train?".
//
// A timetable line looks like "07:42 Harbour Street 2": the time, the destination and the
// platform number, separated by spaces; the platform is the last word.
package railclock

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Departure is one train leaving the station.
type Departure struct {
	Minute      int // minutes after midnight
	Destination string
	Platform    int
}

// Clock formats the departure time as HH:MM.
func (d Departure) Clock() string {
	return fmt.Sprintf("%02d:%02d", d.Minute/60, d.Minute%60)
}

func parseClock(s string) (int, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	h, err := strconv.Atoi(parts[0])
	if err != nil || h < 0 || h > 23 {
		return 0, fmt.Errorf("bad hour in %q", s)
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil || m < 0 || m > 59 {
		return 0, fmt.Errorf("bad minute in %q", s)
	}
	return h*60 + m, nil
}

// Parse reads a timetable; blank lines and lines starting with '#' are skipped.
func Parse(r io.Reader) ([]Departure, error) {
	var out []Departure
	scanner := bufio.NewScanner(r)
	lineNo := 0
	for scanner.Scan() {
		lineNo++
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("line %d: want time, destination and platform", lineNo)
		}
		minute, err := parseClock(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		platform, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			return nil, fmt.Errorf("line %d: platform must be a number", lineNo)
		}
		out = append(out, Departure{
			Minute:      minute,
			Destination: strings.Join(fields[1:len(fields)-1], " "),
			Platform:    platform,
		})
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Minute < out[j].Minute })
	return out, nil
}

// Next returns up to n departures at or after the given minute, wrapping past midnight.
func Next(deps []Departure, minute, n int) []Departure {
	if len(deps) == 0 || n <= 0 {
		return nil
	}
	start := sort.Search(len(deps), func(i int) bool { return deps[i].Minute >= minute })
	var out []Departure
	for k := 0; k < len(deps) && len(out) < n; k++ {
		out = append(out, deps[(start+k)%len(deps)])
	}
	return out
}
