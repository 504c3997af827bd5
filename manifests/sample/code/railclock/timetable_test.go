package railclock

import (
	"strings"
	"testing"
)

const sample = `# weekday departures
07:42 Harbour Street 2
06:15 Upper Mill 1
23:50 Night Service Central 3
`

func TestParseSortsByTime(t *testing.T) {
	deps, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 3 {
		t.Fatalf("got %d departures, want 3", len(deps))
	}
	if deps[0].Clock() != "06:15" || deps[0].Destination != "Upper Mill" {
		t.Errorf("first departure = %+v", deps[0])
	}
	if deps[2].Platform != 3 {
		t.Errorf("last platform = %d, want 3", deps[2].Platform)
	}
}

func TestNextWrapsPastMidnight(t *testing.T) {
	deps, _ := Parse(strings.NewReader(sample))
	got := Next(deps, 23*60+55, 2)
	if len(got) != 2 || got[0].Clock() != "06:15" || got[1].Clock() != "07:42" {
		t.Errorf("Next after 23:55 = %+v", got)
	}
}

func TestParseRejectsBadTime(t *testing.T) {
	if _, err := Parse(strings.NewReader("25:00 Nowhere 1\n")); err == nil {
		t.Error("expected an error for hour 25")
	}
}
