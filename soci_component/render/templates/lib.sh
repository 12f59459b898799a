# shellcheck shell=bash
# Functions of the soci-eks boot script; render/script.py picks the blocks a node group needs.
# Every function takes what it needs as arguments (paths come from the generated readonly header).
#@ core
set -eEuo pipefail
log() { echo "soci-eks: $*" >&2; }
fail() { log "ERROR: $*"; exit 1; }
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR
put() { # PATH MODE <content: atomic write
  mkdir -p "$(dirname "$1")"
  cat >"$1.tmp"
  chmod "$2" "$1.tmp"
  mv -f "$1.tmp" "$1"
}
#@ install
install_soci() { # VERSION URL_BASE BIN SHA256_AMD64 SHA256_ARM64: download, verify, then install; nothing half-installed
  local arch tgz dir sum
  case "$(uname -m)" in
    x86_64) arch=amd64; sum=$4 ;; aarch64) arch=arm64; sum=$5 ;; *) fail "unsupported CPU $(uname -m)" ;;
  esac
  tgz="soci-snapshotter-$1-linux-$arch.tar.gz"
  dir=$(mktemp -d)
  curl -fsSL --retry 5 --retry-connrefused -o "$dir/$tgz" "$2/v$1/$tgz" || { rm -rf "$dir"; fail "download of $2/v$1/$tgz failed"; }
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
secret() { # REGION SECRET_ARN: the secret's string on stdout (never logged)
  aws secretsmanager get-secret-value --region "$1" --secret-id "$2" --query SecretString --output text || fail "cannot read secret $2 (node role needs secretsmanager:GetSecretValue on it)"
}
#@ auth
add_auth() { # DOCKER_CONFIG REGION KEY SECRET_ARN: {"username","password"} into the docker config under KEY
  secret "$2" "$4" | jq -ce --arg r "$3" 'if (.username|type)=="string" and (.password|type)=="string" then {auths: {($r): {auth: ((.username + ":" + .password)|@base64)}}} else error("no username/password") end' >"$1.auth" || { rm -f "$1.auth"; fail "secret $4 is not {\"username\",\"password\"} JSON"; }
  jq -s '.[0] * .[1]' "$1" "$1.auth" | put "$1" 0600
  rm -f "$1.auth"
}
#@ token
add_token() { # KUBECONFIG REGION SECRET_ARN: service-account token for SOCI's kubeconfig keychain
  secret "$2" "$3" | jq -Rs --slurpfile c "$1" '. as $t | $c[0] | .users[0].user.token = ($t|rtrimstr("\n"))' >"$1.token" || { rm -f "$1.token"; fail "cannot build $1"; }
  put "$1" 0600 <"$1.token"
  rm -f "$1.token"
}
#@ start
start_soci() { # SOCKET: containerd and kubelet stay down unless SOCI comes up
  systemctl daemon-reload
  systemctl enable soci-snapshotter.socket soci-snapshotter
  systemctl restart soci-snapshotter.socket soci-snapshotter || :
  for _ in $(seq 30); do
    systemctl is-active -q soci-snapshotter && [ -S "$1" ] && { log "SOCI is up"; return 0; }
    sleep 1
  done
  journalctl -u soci-snapshotter -n 50 --no-pager >&2 || :
  fail "SOCI did not come up in 30 s: containerd and kubelet will not start"
}
