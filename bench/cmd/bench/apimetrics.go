package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// apiMetrics is one scrape of the API server's /metrics: each series' value by its name and
// labels as written ("name{a=\"b\"}").
type apiMetrics map[string]float64

// scrapeAPI reads the API server's metrics.
func scrapeAPI(ctx context.Context, client kubernetes.Interface) (apiMetrics, error) {
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("API server metrics: %w", err)
	}
	m := apiMetrics{}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, nil
}

// sum adds the series of name whose labels hold every one of with (`verb="LIST"`) and one of
// resources, if any (`resource="services"`).
func (m apiMetrics) sum(name string, resources []string, with ...string) float64 {
	total := 0.0
	for series, v := range m {
		labels, ok := strings.CutPrefix(series, name+"{")
		if !ok {
			continue
		}
		if !hasAll(labels, with) || (len(resources) > 0 && !hasResource(labels, resources)) {
			continue
		}
		total += v
	}
	return total
}

func hasAll(labels string, with []string) bool {
	for _, w := range with {
		if !strings.Contains(labels, w) {
			return false
		}
	}
	return true
}

func hasResource(labels string, resources []string) bool {
	for _, r := range resources {
		if strings.Contains(labels, `resource="`+r+`"`) {
			return true
		}
	}
	return false
}

// since is what m counted after before, for one sum.
func (m apiMetrics) since(before apiMetrics, name string, resources []string, with ...string) float64 {
	return m.sum(name, resources, with...) - before.sum(name, resources, with...)
}
