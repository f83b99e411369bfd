#!/bin/sh
# Ringside sidecar init: the nat-table rules that send a pod's TCP traffic through ringside-proxy.
#
# Run once per pod, inside the pod's network namespace, with CAP_NET_ADMIN (the injected init
# container does this). Outbound TCP is redirected to the proxy's outbound listener (15001), inbound
# TCP to its inbound listener (15006). The proxy's own connections (its uid/gid, 1337 by default) are
# never redirected, so what it sends to the original destination leaves the pod unchanged.
#
# Chains (table nat):
#   PREROUTING -p tcp -> RINGSIDE_INBOUND    excluded ports RETURN, captured ports -> RINGSIDE_IN_REDIRECT
#   RINGSIDE_IN_REDIRECT                      REDIRECT --to-ports <inbound capture port>
#   OUTPUT -p tcp     -> RINGSIDE_OUTPUT      proxy uid/gid, loopback, excluded ports/CIDRs RETURN,
#                                             the rest -> RINGSIDE_REDIRECT
#   RINGSIDE_REDIRECT                         REDIRECT --to-ports <outbound capture port>
#
# Applying is idempotent: existing RINGSIDE_* chains and jumps are removed first, then the whole rule
# set is loaded in one iptables-restore transaction.
set -eu

PROG=$(basename "$0")

OUTBOUND_PORT=15001
INBOUND_PORT=15006
PROXY_UID=1337
PROXY_GID=""
# Mesh ports that are never captured inbound: admin, the two capture ports, agent, health, Prometheus.
ALWAYS_EXCLUDED_INBOUND="15000,15001,15006,15020,15021,15090"
INBOUND_INCLUDE="*"
INBOUND_EXCLUDE=""
OUTBOUND_PORTS_EXCLUDE=""
OUTBOUND_CIDRS_INCLUDE="*"
OUTBOUND_CIDRS_EXCLUDE=""
IPV6=0
IPTABLES=iptables
DRY_RUN=0
CLEAN=0

CHAINS="RINGSIDE_INBOUND RINGSIDE_IN_REDIRECT RINGSIDE_OUTPUT RINGSIDE_REDIRECT"

usage() {
  cat <<EOF
Usage: $PROG [options]

Installs (or removes) the nat-table rules that redirect a pod's TCP traffic to the Ringside sidecar.
Run inside the pod's network namespace as root (CAP_NET_ADMIN).

Capture ports:
  -p, --outbound-port PORT        port of the proxy's outbound listener (default: $OUTBOUND_PORT)
  -z, --inbound-port PORT         port of the proxy's inbound listener (default: $INBOUND_PORT)

Traffic that is never redirected:
  -u, --proxy-uid UID[,UID...]    uid(s) the proxy runs as; their traffic is not captured (default: $PROXY_UID)
  -g, --proxy-gid GID[,GID...]    gid(s) likewise (default: the same as --proxy-uid)
      Loopback traffic of the app (to 127.0.0.1, or to its own pod address over lo) is not captured.

Inbound (traffic arriving at the pod):
  -b, --inbound-ports-include LIST  ports to capture: comma-separated, '*' for all (default: '*'),
                                    '' for none (no inbound capture)
  -d, --inbound-ports-exclude LIST  ports not to capture, in addition to the mesh ports that are
                                    never captured: $ALWAYS_EXCLUDED_INBOUND

Outbound (traffic the pod initiates):
  -i, --outbound-cidrs-include LIST destination CIDRs to capture: comma-separated, '*' for all
                                    (default: '*'), '' for none (no outbound capture)
  -x, --outbound-cidrs-exclude LIST destination CIDRs not to capture
  -o, --outbound-ports-exclude LIST destination ports not to capture

Other:
      --ipv6                      also program ip6tables (loopback ::1; CIDR lists must then be IPv6)
      --iptables CMD              iptables command to use (default: iptables; e.g. iptables-legacy).
                                  The matching CMD-restore is used to load the rules.
  -n, --dry-run                   print the rules (iptables-restore format) or, with --clean, the
                                  commands; change nothing
      --clean                     remove every RINGSIDE_* chain and the jumps to them, then exit
  -h, --help                      show this help

Exit status: 0 on success, 1 on an error (message on stderr), 2 on a usage error.
Running it again replaces the rules it installed before (idempotent).
EOF
}

die() {
  echo "$PROG: $*" >&2
  exit 1
}

usage_error() {
  echo "$PROG: $*" >&2
  echo "Try '$PROG --help'." >&2
  exit 2
}

need_arg() {
  # $1 option, $2 number of remaining arguments
  [ "$2" -ge 2 ] || usage_error "option $1 needs a value"
}

while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
    -p | --outbound-port) need_arg "$opt" $#; OUTBOUND_PORT=$2; shift 2 ;;
    -z | --inbound-port) need_arg "$opt" $#; INBOUND_PORT=$2; shift 2 ;;
    -u | --proxy-uid) need_arg "$opt" $#; PROXY_UID=$2; shift 2 ;;
    -g | --proxy-gid) need_arg "$opt" $#; PROXY_GID=$2; shift 2 ;;
    -b | --inbound-ports-include) need_arg "$opt" $#; INBOUND_INCLUDE=$2; shift 2 ;;
    -d | --inbound-ports-exclude) need_arg "$opt" $#; INBOUND_EXCLUDE=$2; shift 2 ;;
    -i | --outbound-cidrs-include) need_arg "$opt" $#; OUTBOUND_CIDRS_INCLUDE=$2; shift 2 ;;
    -x | --outbound-cidrs-exclude) need_arg "$opt" $#; OUTBOUND_CIDRS_EXCLUDE=$2; shift 2 ;;
    -o | --outbound-ports-exclude) need_arg "$opt" $#; OUTBOUND_PORTS_EXCLUDE=$2; shift 2 ;;
    --ipv6) IPV6=1; shift ;;
    --iptables) need_arg "$opt" $#; IPTABLES=$2; shift 2 ;;
    -n | --dry-run) DRY_RUN=1; shift ;;
    --clean) CLEAN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --*=*) usage_error "use '${opt%%=*} VALUE', not '$opt'" ;;
    *) usage_error "unknown argument '$opt'" ;;
  esac
done

[ -n "$PROXY_GID" ] || PROXY_GID=$PROXY_UID

# --- validation ---------------------------------------------------------------------------------

is_uint() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
  return 0
}

check_port() {
  # $1 option name, $2 value
  is_uint "$2" || usage_error "$1: '$2' is not a port number"
  # Strip leading zeros before the arithmetic comparison so "08" is not read as octal.
  p=$(echo "$2" | sed 's/^0*//')
  if [ -z "$p" ] || [ "$p" -gt 65535 ]; then
    usage_error "$1: port $2 is out of range 1-65535"
  fi
}

# Split a comma-separated list into words (prints one per line, empty items dropped).
split_list() {
  echo "$1" | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | grep -v '^$' || true
}

check_port_list() {
  for item in $(split_list "$2"); do check_port "$1" "$item"; done
}

check_id_list() {
  [ -n "$2" ] || usage_error "$1: empty"
  for item in $(split_list "$2"); do
    is_uint "$item" || usage_error "$1: '$item' is not a numeric id"
  done
}

check_cidr() {
  # $1 option, $2 cidr
  cidr_opt=$1
  cidr=$2
  if [ "$IPV6" = 1 ]; then
    echo "$cidr" | grep -Eq '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' || usage_error "$cidr_opt: '$cidr' is not an IPv6 CIDR"
    return 0
  fi
  echo "$cidr" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?$' ||
    usage_error "$cidr_opt: '$cidr' is not an IPv4 CIDR"
  for octet in $(echo "${cidr%%/*}" | tr '.' ' '); do
    octet=$(echo "$octet" | sed 's/^0*//')
    [ "${octet:-0}" -le 255 ] || usage_error "$cidr_opt: '$cidr' has an octet above 255"
  done
  case $cidr in */*)
    len=$(echo "${cidr##*/}" | sed 's/^0*//')
    [ "${len:-0}" -le 32 ] || usage_error "$cidr_opt: prefix length in '$cidr' is above 32" ;;
  esac
  return 0
}

check_cidr_list() {
  [ "$2" = "*" ] && return 0
  for item in $(split_list "$2"); do check_cidr "$1" "$item"; done
}

check_port --outbound-port "$OUTBOUND_PORT"
check_port --inbound-port "$INBOUND_PORT"
check_id_list --proxy-uid "$PROXY_UID"
check_id_list --proxy-gid "$PROXY_GID"
[ "$INBOUND_INCLUDE" = "*" ] || check_port_list --inbound-ports-include "$INBOUND_INCLUDE"
check_port_list --inbound-ports-exclude "$INBOUND_EXCLUDE"
check_port_list --outbound-ports-exclude "$OUTBOUND_PORTS_EXCLUDE"
check_cidr_list --outbound-cidrs-include "$OUTBOUND_CIDRS_INCLUDE"
check_cidr_list --outbound-cidrs-exclude "$OUTBOUND_CIDRS_EXCLUDE"

# --- rule generation ----------------------------------------------------------------------------

# Prints the nat table for one address family in iptables-restore format.
# $1: loopback host address (127.0.0.1/32 or ::1/128), $2: inbound passthrough source (or "")
rules() {
  lo_addr=$1
  passthrough_src=$2
  echo "*nat"
  for c in $CHAINS; do echo ":$c - [0:0]"; done

  # Inbound: everything arriving over TCP goes through RINGSIDE_INBOUND.
  echo "-A PREROUTING -p tcp -j RINGSIDE_INBOUND"
  if [ -n "$INBOUND_INCLUDE" ]; then
    for port in $(split_list "$ALWAYS_EXCLUDED_INBOUND,$INBOUND_EXCLUDE") ; do
      echo "-A RINGSIDE_INBOUND -p tcp --dport $port -j RETURN"
    done
    if [ "$INBOUND_INCLUDE" = "*" ]; then
      echo "-A RINGSIDE_INBOUND -p tcp -j RINGSIDE_IN_REDIRECT"
    else
      for port in $(split_list "$INBOUND_INCLUDE"); do
        echo "-A RINGSIDE_INBOUND -p tcp --dport $port -j RINGSIDE_IN_REDIRECT"
      done
    fi
  fi
  echo "-A RINGSIDE_IN_REDIRECT -p tcp -j REDIRECT --to-ports $INBOUND_PORT"

  # Outbound: everything the pod's processes send over TCP goes through RINGSIDE_OUTPUT.
  echo "-A OUTPUT -p tcp -j RINGSIDE_OUTPUT"
  if [ -n "$passthrough_src" ]; then
    # Connections the proxy makes from the inbound passthrough address to the app.
    echo "-A RINGSIDE_OUTPUT -s $passthrough_src -o lo -j RETURN"
  fi
  # The proxy's own connections (to original destinations, upstreams, xDS) are never captured.
  for id in $(split_list "$PROXY_UID"); do
    echo "-A RINGSIDE_OUTPUT -m owner --uid-owner $id -j RETURN"
  done
  for id in $(split_list "$PROXY_GID"); do
    echo "-A RINGSIDE_OUTPUT -m owner --gid-owner $id -j RETURN"
  done
  # The app talking to itself: over lo (its own pod address included) and to the loopback address.
  echo "-A RINGSIDE_OUTPUT -o lo -j RETURN"
  echo "-A RINGSIDE_OUTPUT -d $lo_addr -j RETURN"
  for port in $(split_list "$OUTBOUND_PORTS_EXCLUDE"); do
    echo "-A RINGSIDE_OUTPUT -p tcp --dport $port -j RETURN"
  done
  if [ "$OUTBOUND_CIDRS_INCLUDE" != "*" ] || [ -n "$OUTBOUND_CIDRS_EXCLUDE" ]; then
    for cidr in $(split_list "$OUTBOUND_CIDRS_EXCLUDE"); do
      echo "-A RINGSIDE_OUTPUT -d $cidr -j RETURN"
    done
  fi
  if [ "$OUTBOUND_CIDRS_INCLUDE" = "*" ]; then
    echo "-A RINGSIDE_OUTPUT -j RINGSIDE_REDIRECT"
  else
    for cidr in $(split_list "$OUTBOUND_CIDRS_INCLUDE"); do
      echo "-A RINGSIDE_OUTPUT -d $cidr -j RINGSIDE_REDIRECT"
    done
  fi
  echo "-A RINGSIDE_REDIRECT -p tcp -j REDIRECT --to-ports $OUTBOUND_PORT"
  echo "COMMIT"
}

# Commands that remove everything this script installs, for one iptables command ($1).
clean_commands() {
  echo "$1 -t nat -D PREROUTING -p tcp -j RINGSIDE_INBOUND"
  echo "$1 -t nat -D OUTPUT -p tcp -j RINGSIDE_OUTPUT"
  for c in $CHAINS; do echo "$1 -t nat -F $c"; done
  for c in $CHAINS; do echo "$1 -t nat -X $c"; done
}

clean_family() {
  ipt=$1
  # A jump may have been added more than once (e.g. by hand); remove every copy, boundedly.
  for jump in "PREROUTING RINGSIDE_INBOUND" "OUTPUT RINGSIDE_OUTPUT"; do
    # shellcheck disable=SC2086
    set -- $jump
    n=0
    while [ $n -lt 64 ] && $ipt -w -t nat -D "$1" -p tcp -j "$2" 2>/dev/null; do n=$((n + 1)); done
  done
  for c in $CHAINS; do $ipt -w -t nat -F "$c" 2>/dev/null || true; done
  for c in $CHAINS; do $ipt -w -t nat -X "$c" 2>/dev/null || true; done
  # Verify nothing is left.
  for c in $CHAINS; do
    if $ipt -w -t nat -S "$c" >/dev/null 2>&1; then
      die "could not remove chain $c with $ipt (is something else still jumping to it?)"
    fi
  done
}

apply_family() {
  ipt=$1
  ruleset=$2
  clean_family "$ipt"
  if ! printf '%s\n' "$ruleset" | "$ipt-restore" -w --noflush; then
    clean_family "$ipt" || true
    die "$ipt-restore rejected the rules (see above); nothing was installed"
  fi
}

ip6tables_cmd() {
  case $IPTABLES in
    iptables) echo ip6tables ;;
    iptables-*) echo "ip6tables-${IPTABLES#iptables-}" ;;
    */iptables) echo "${IPTABLES%/iptables}/ip6tables" ;;
    */iptables-*) d=${IPTABLES%/*}; b=${IPTABLES##*/}; echo "$d/ip6tables-${b#iptables-}" ;;
    *) die "cannot derive the ip6tables command from --iptables $IPTABLES" ;;
  esac
}

V4_RULES=$(rules 127.0.0.1/32 127.0.0.6/32)
if [ "$IPV6" = 1 ]; then
  IP6TABLES=$(ip6tables_cmd)
  V6_RULES=$(rules ::1/128 ::6/128)
fi

if [ "$DRY_RUN" = 1 ]; then
  if [ "$CLEAN" = 1 ]; then
    clean_commands "$IPTABLES"
    [ "$IPV6" = 0 ] || clean_commands "$IP6TABLES"
    exit 0
  fi
  echo "# $IPTABLES-restore --noflush"
  printf '%s\n' "$V4_RULES"
  if [ "$IPV6" = 1 ]; then
    echo "# $IP6TABLES-restore --noflush"
    printf '%s\n' "$V6_RULES"
  fi
  exit 0
fi

command -v "$IPTABLES" >/dev/null 2>&1 || die "$IPTABLES not found"
command -v "$IPTABLES-restore" >/dev/null 2>&1 || die "$IPTABLES-restore not found"
if [ "$(id -u)" -ne 0 ]; then
  echo "$PROG: warning: not running as root; iptables needs CAP_NET_ADMIN" >&2
fi

if [ "$CLEAN" = 1 ]; then
  clean_family "$IPTABLES"
  [ "$IPV6" = 0 ] || clean_family "$IP6TABLES"
  echo "$PROG: removed the RINGSIDE_* rules"
  exit 0
fi

apply_family "$IPTABLES" "$V4_RULES"
[ "$IPV6" = 0 ] || apply_family "$IP6TABLES" "$V6_RULES"
echo "$PROG: outbound TCP -> :$OUTBOUND_PORT, inbound TCP -> :$INBOUND_PORT (proxy uid $PROXY_UID, gid $PROXY_GID not captured)"
