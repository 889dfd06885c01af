// kube-strict decodes Kubernetes objects (multi-document YAML on stdin) the way the API server's
// strict field validation does: with the real Go types, failing on unknown or duplicate fields,
// wrong types and malformed quantities. It complements the OpenAPI schema check
// (kubernetes-models), whose schemas accept unknown fields.
//
// Output: one line per object, "ok KIND NAME" or "error KIND NAME: MESSAGE"; exit status 1 when any
// object fails, 2 on bad input.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/yaml"
)

func main() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	serializer := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})

	reader := yaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	failed := false
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "reading input:", err)
			os.Exit(2)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var gvk *schema.GroupVersionKind
		obj, gvk, err := serializer.Decode(doc, nil, nil)
		kind, name := "?", "?"
		if gvk != nil {
			kind = gvk.GroupVersion().String() + " " + gvk.Kind
		}
		if m, ok := obj.(interface{ GetName() string }); ok && obj != nil {
			name = m.GetName()
		}
		if err != nil {
			failed = true
			fmt.Printf("error %s %s: %v\n", kind, name, err)
			continue
		}
		fmt.Printf("ok %s %s\n", kind, name)
	}
	if failed {
		os.Exit(1)
	}
}

// stripComments drops comment-only lines, so a document holding only comments counts as empty.
func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
