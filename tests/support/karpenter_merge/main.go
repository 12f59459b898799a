// Command karpenter-merge prints the user data Karpenter's AWS provider gives a node, computed by
// Karpenter's own bootstrap package (github.com/aws/karpenter-provider-aws, the version pinned in
// go.mod): the tests compare what soci-eks puts in an EC2NodeClass with what a node would really
// receive after Karpenter merges it with its own NodeConfig (AL2023) or settings (Bottlerocket).
//
// Input: one JSON object on stdin.
//
//	{
//	  "family": "AL2023" | "Bottlerocket",
//	  "userData": "...",                 EC2NodeClass spec.userData (omit or null: none)
//	  "clusterName": "demo",
//	  "clusterEndpoint": "https://...",
//	  "caBundle": "<base64 PEM>",        optional
//	  "clusterCIDR": "10.100.0.0/16",    AL2023: required by Karpenter
//	  "labels": {"k": "v"},
//	  "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}],
//	  "startupTaints": [...],
//	  "kubelet": {...},                  EC2NodeClass spec.kubelet, as in the manifest
//	  "maxPods": 29,                     the per-instance-type count Karpenter uses when kubelet.maxPods is unset
//	  "kubeDNSIP": "10.100.0.10",        discovered cluster DNS, used when kubelet.clusterDNS is unset
//	  "instanceStorePolicy": "RAID0",    optional
//	  "enableDefaultMountPaths": false,  Bottlerocket: what Karpenter derives from the AMI version
//	  "addUnregisteredTaint": true,      default true: Karpenter always adds karpenter.sh/unregistered:NoExecute
//	  "nodeClass": {...},                an EC2NodeClass document (karpenter.k8s.aws/v1): instead of family,
//	                                     userData, kubelet, instanceStorePolicy, enableDefaultMountPaths
//	  "nodePool": {...},                 a NodePool document (karpenter.sh/v1): instead of labels, taints,
//	                                     startupTaints
//	  "capacityType": "on-demand"        with nodePool: the capacity type Karpenter launched (on-demand, spot, reserved)
//	}
//
// With "nodeClass" the family comes from its AMI alias (EC2NodeClass.AMIFamily), and for Bottlerocket
// enableDefaultMountPaths from the alias's version as the provider derives it (amifamily/bottlerocket.go
// resolveAMIVersion + version.SupportsDefaultBind, copied below: that package's imports need a module
// the proxy refuses). With "nodePool" the labels and taints are the NodeClaim's that Karpenter's own
// NodeClaimTemplate makes from the NodePool (sigs.k8s.io/karpenter controllers/provisioning/scheduling:
// template labels, karpenter.sh/nodepool, karpenter.k8s.aws/ec2nodeclass, single values of custom-label
// requirements, template taints and startup taints), plus karpenter.sh/capacity-type as the launch
// template provider adds it (launchtemplate.go EnsureAll). Both documents are decoded into Karpenter's
// Go types with unknown fields refused. Labels (either way) then go through RejectForbiddenLabels
// (amifamily/resolver.go, copied below for the same reason).
//
// Output: what Script() returns, byte for byte, on stdout (no newline added): base64, as Karpenter
// puts it in the launch template's UserData. `karpenter-merge --decoded` prints the decoded bytes
// (the MIME archive or TOML the node reads). Errors go to stderr, exit 1.
// `karpenter-merge --version` prints the Karpenter module versions this binary was built with.
//
// The steps before Script() follow the provider's launch-template resolver at the pinned version
// (pkg/providers/amifamily/resolver.go: maxPods and clusterDNS defaulting on both the parsed and
// the raw kubelet config, taints + startup taints + the unregistered taint) and the AL2023 and
// Bottlerocket families' UserData constructors (al2023.go, bottlerocket.go).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	v1 "github.com/aws/karpenter-provider-aws/pkg/apis/v1"
	"github.com/aws/karpenter-provider-aws/pkg/providers/amifamily/bootstrap"
	"github.com/samber/lo"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	provscheduling "sigs.k8s.io/karpenter/pkg/controllers/provisioning/scheduling"
)

type input struct {
	Family                  string                  `json:"family"`
	UserData                *string                 `json:"userData"`
	ClusterName             string                  `json:"clusterName"`
	ClusterEndpoint         string                  `json:"clusterEndpoint"`
	CABundle                *string                 `json:"caBundle"`
	ClusterCIDR             *string                 `json:"clusterCIDR"`
	Labels                  map[string]string       `json:"labels"`
	Taints                  []corev1.Taint          `json:"taints"`
	StartupTaints           []corev1.Taint          `json:"startupTaints"`
	Kubelet                 v1.KubeletConfiguration `json:"kubelet"`
	MaxPods                 *int32                  `json:"maxPods"`
	KubeDNSIP               *string                 `json:"kubeDNSIP"`
	InstanceStorePolicy     *v1.InstanceStorePolicy `json:"instanceStorePolicy"`
	EnableDefaultMountPaths *bool                   `json:"enableDefaultMountPaths"`
	AddUnregisteredTaint    *bool                   `json:"addUnregisteredTaint"`
	NodeClass               json.RawMessage         `json:"nodeClass"`
	NodePool                json.RawMessage         `json:"nodePool"`
	CapacityType            string                  `json:"capacityType"`
}

func strictDecode(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// fromNodeClass fills family, userData, kubelet, instanceStorePolicy and enableDefaultMountPaths from an EC2NodeClass.
func (in *input) fromNodeClass() error {
	if in.Family != "" || in.UserData != nil || len(in.Kubelet) > 0 || in.InstanceStorePolicy != nil || in.EnableDefaultMountPaths != nil {
		return errors.New(`"nodeClass" gives family, userData, kubelet, instanceStorePolicy and enableDefaultMountPaths: do not pass them too`)
	}
	var nc v1.EC2NodeClass
	if err := strictDecode(in.NodeClass, &nc); err != nil {
		return fmt.Errorf("reading nodeClass as an EC2NodeClass: %w", err)
	}
	alias := nc.Alias()
	if nc.Spec.AMIFamily == nil && alias == nil {
		return errors.New("nodeClass: no amiFamily and no alias amiSelectorTerm")
	}
	in.Family = nc.AMIFamily()
	in.UserData = nc.Spec.UserData
	in.Kubelet = nc.Spec.Kubelet
	in.InstanceStorePolicy = nc.Spec.InstanceStorePolicy
	if in.Family == v1.AMIFamilyBottlerocket {
		version := ""
		if alias != nil {
			version = alias.Version
		}
		in.EnableDefaultMountPaths = lo.ToPtr(supportsDefaultBind(version))
	}
	return nil
}

// fromNodePool fills labels and taints with what Karpenter's NodeClaimTemplate gives a NodeClaim of the NodePool.
func (in *input) fromNodePool() error {
	if len(in.Labels) > 0 || len(in.Taints) > 0 || len(in.StartupTaints) > 0 {
		return errors.New(`"nodePool" gives labels, taints and startupTaints: do not pass them too`)
	}
	switch in.CapacityType {
	case karpv1.CapacityTypeOnDemand, karpv1.CapacityTypeSpot, karpv1.CapacityTypeReserved:
	default:
		return fmt.Errorf(`"capacityType" %q: with nodePool give the launched capacity type (on-demand, spot, reserved)`, in.CapacityType)
	}
	var np karpv1.NodePool
	if err := strictDecode(in.NodePool, &np); err != nil {
		return fmt.Errorf("reading nodePool as a NodePool: %w", err)
	}
	claim := provscheduling.NewNodeClaimTemplate(&np).ToNodeClaim()
	in.Labels = lo.Assign(claim.Labels, map[string]string{karpv1.CapacityTypeLabelKey: in.CapacityType})
	in.Taints = claim.Spec.Taints
	in.StartupTaints = claim.Spec.StartupTaints
	return nil
}

// rejectForbiddenLabels is amifamily.RejectForbiddenLabels of the pinned provider (pkg/providers/amifamily/resolver.go).
func rejectForbiddenLabels(labels map[string]string) map[string]string {
	filtered := make(map[string]string, len(labels))
	for label, value := range labels {
		if isRestrictedLabel(label) {
			continue
		}
		filtered[label] = value
	}
	return filtered
}

func isRestrictedLabel(label string) bool {
	domain := karpv1.GetLabelDomain(label)
	for _, restricted := range []string{corev1.LabelNamespaceNodeRestriction, "kubernetes.io", "k8s.io"} {
		if domain == restricted || strings.HasSuffix(domain, "."+restricted) {
			return true
		}
	}
	return false
}

// supportsDefaultBind is version.SupportsDefaultBind of the pinned provider (pkg/providers/version/version.go).
func supportsDefaultBind(amiVersion string) bool {
	if amiVersion == "" {
		return false
	}
	if amiVersion == "latest" {
		return true
	}
	parts := strings.Split(strings.TrimLeft(amiVersion, "v"), ".")
	if len(parts) < 3 {
		return false
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return false
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return false
	}
	return major > 1 || (major == 1 && minor >= 46)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		printVersion()
		return
	}
	decoded := len(os.Args) == 2 && os.Args[1] == "--decoded"
	if len(os.Args) != 1 && !decoded {
		fmt.Fprintln(os.Stderr, "usage: karpenter-merge [--decoded] < input.json   |   karpenter-merge --version")
		os.Exit(2)
	}
	out, err := run(os.Stdin)
	if err == nil && decoded {
		var raw []byte
		raw, err = base64.StdEncoding.DecodeString(out)
		out = string(raw)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "karpenter-merge:", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.WriteString(out); err != nil {
		os.Exit(1)
	}
}

func printVersion() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Println("karpenter-merge (no build info)")
		return
	}
	fmt.Printf("karpenter-merge %s\n", info.GoVersion)
	for _, m := range info.Deps {
		switch m.Path {
		case "github.com/aws/karpenter-provider-aws", "sigs.k8s.io/karpenter", "github.com/awslabs/amazon-eks-ami/nodeadm":
			v := m.Version
			if m.Replace != nil {
				v += " => " + m.Replace.Path + " " + m.Replace.Version
			}
			fmt.Printf("%s %s\n", m.Path, v)
		}
	}
}

func run(r io.Reader) (string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	var in input
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "", fmt.Errorf("reading the input JSON: %w", err)
	}
	if in.NodeClass != nil {
		if err := in.fromNodeClass(); err != nil {
			return "", err
		}
	}
	if in.NodePool != nil {
		if err := in.fromNodePool(); err != nil {
			return "", err
		}
	} else if in.CapacityType != "" {
		return "", errors.New(`"capacityType" goes with "nodePool"`)
	}

	// The raw map feeds nodeadm's inline kubelet config; the parsed struct feeds the flag/settings
	// based parts. Both get the same defaults, as in the provider's resolver.
	raw := v1.KubeletConfiguration{}
	for k, v := range in.Kubelet {
		raw[k] = v
	}
	parsed, err := v1.ParseKubeletConfig(raw)
	if err != nil {
		return "", fmt.Errorf("parsing kubelet: %w", err)
	}
	if _, ok := parsed.MaxPodsValue(); !ok && in.MaxPods != nil {
		parsed.MaxPods = lo.ToPtr(intstr.FromInt32(*in.MaxPods))
		raw["maxPods"] = v1.JSONValue(*in.MaxPods)
	}
	if in.KubeDNSIP != nil && len(parsed.ClusterDNS) == 0 {
		parsed.ClusterDNS = []string{*in.KubeDNSIP}
		raw["clusterDNS"] = v1.JSONValue(parsed.ClusterDNS)
	}
	if len(raw) == 0 {
		raw = nil
	}

	taints := append(append([]corev1.Taint{}, in.Taints...), in.StartupTaints...)
	if lo.FromPtrOr(in.AddUnregisteredTaint, true) {
		if _, found := lo.Find(taints, func(t corev1.Taint) bool { return t.MatchTaint(&karpv1.UnregisteredNoExecuteTaint) }); !found {
			taints = append(taints, karpv1.UnregisteredNoExecuteTaint)
		}
	}

	opts := bootstrap.Options{
		ClusterName:           in.ClusterName,
		ClusterEndpoint:       in.ClusterEndpoint,
		KubeletConfig:         parsed,
		UnparsedKubeletConfig: raw,
		Taints:                taints,
		Labels:                rejectForbiddenLabels(in.Labels),
		CABundle:              in.CABundle,
		CustomUserData:        in.UserData,
		InstanceStorePolicy:   in.InstanceStorePolicy,
	}
	var b bootstrap.Bootstrapper
	switch in.Family {
	case "AL2023":
		opts.ClusterCIDR = in.ClusterCIDR
		b = bootstrap.Nodeadm{Options: opts}
	case "Bottlerocket":
		b = bootstrap.Bottlerocket{Options: opts, EnableDefaultMountPaths: lo.FromPtr(in.EnableDefaultMountPaths)}
	case "":
		return "", errors.New(`"family" is required: AL2023 or Bottlerocket`)
	default:
		return "", fmt.Errorf("family %q: only AL2023 and Bottlerocket are supported", in.Family)
	}
	return b.Script(context.Background())
}
