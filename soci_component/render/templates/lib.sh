# shellcheck shell=bash
#@ core
set -eEuo pipefail
log() { echo "soci-eks: $*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR
put() { # PATH MODE <content
  mkdir -p "$(dirname "$1")"
  cat >"$1.tmp"
  chmod "$2" "$1.tmp"
  mv -f "$1.tmp" "$1"
}
#@ install
install_soci() { # VERSION URL_BASE BIN: download, verify, then install; nothing half-installed
  local arch tgz dir sum
  case "$(uname -m)" in
    x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) fail "unsupported CPU $(uname -m)" ;;
  esac
  tgz="soci-snapshotter-$1-linux-$arch.tar.gz"
  dir=$(mktemp -d)
  curl -fsSL --retry 5 --retry-connrefused -o "$dir/$tgz" "$2/v$1/$tgz" || { rm -rf "$dir"; fail "download of $2/v$1/$tgz failed"; }
  sum=$(sha256_pinned "$arch")
  if [ -z "$sum" ]; then
    sum=$(curl -fsSL --retry 5 "$2/v$1/$tgz.sha256sum" | awk 'NR==1{print $1}') || { rm -rf "$dir"; fail "download of $tgz.sha256sum failed"; }
  fi
  [[ "$sum" =~ ^[0-9a-f]{64}$ ]] || { rm -rf "$dir"; fail "no valid SHA-256 for $tgz"; }
  (cd "$dir" && echo "$sum  $tgz" | sha256sum --check --strict --quiet) || { rm -rf "$dir"; fail "checksum mismatch for $tgz: not installing"; }
  tar -xzf "$dir/$tgz" -C "$dir" soci-snapshotter-grpc || { rm -rf "$dir"; fail "$tgz has no soci-snapshotter-grpc"; }
  install -D -m 0755 "$dir/soci-snapshotter-grpc" "$3.tmp"
  mv -f "$3.tmp" "$3"
  rm -rf "$dir"
  log "installed SOCI $1 ($arch, sha256 $sum)"
}
#@ secret
secret() { aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --query SecretString --output text || fail "cannot read secret $1 (node role needs secretsmanager:GetSecretValue on it)"; }
#@ auth
add_auth() { # REGISTRY SECRET_ARN: {"username","password"} into the docker config
  local cfg=/root/.docker/config.json
  secret "$2" | jq -ce --arg r "$1" 'if (.username|type)=="string" and (.password|type)=="string" then {auths: {($r): {auth: ((.username + ":" + .password)|@base64)}}} else error("no username/password") end' >"$cfg.auth" || { rm -f "$cfg.auth"; fail "secret $2 is not {\"username\",\"password\"} JSON"; }
  jq -s '.[0] * .[1]' "$cfg" "$cfg.auth" | put "$cfg" 0600
  rm -f "$cfg.auth"
}
#@ token
add_token() { # KUBECONFIG SECRET_ARN: service-account token for SOCI's kubeconfig keychain
  secret "$2" | jq -Rs --slurpfile c "$1" '. as $t | $c[0] | .users[0].user.token = ($t|rtrimstr("\n"))' >"$1.token" || { rm -f "$1.token"; fail "cannot build $1"; }
  put "$1" 0600 <"$1.token"
  rm -f "$1.token"
}
#@ start
start_soci() {
  systemctl daemon-reload
  systemctl enable soci-snapshotter.socket soci-snapshotter
  systemctl restart soci-snapshotter.socket soci-snapshotter || :
  for _ in $(seq 30); do
    systemctl is-active -q soci-snapshotter && [ -S "$SOCI_SOCKET" ] && { log "SOCI is up"; return 0; }
    sleep 1
  done
  journalctl -u soci-snapshotter -n 50 --no-pager >&2 || :
  fail "SOCI did not come up in 30 s: containerd and kubelet will not start"
}
