# shellcheck shell=bash
# Sourced by the SSH benches: starts a real OpenSSH server for them.
#
# start_sshd WORK PORT: sshd on 127.0.0.1:PORT with the host key WORK/host_key and the keys in
# WORK/authorized_keys, logging to WORK/sshd.log; sets sshd_pid and waits until it listens.
start_sshd() {
  cat > "$1/sshd_config" <<CONF
Port $2
ListenAddress 127.0.0.1
HostKey $1/host_key
AuthorizedKeysFile $1/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes no
UsePAM no
PidFile $1/sshd.pid
MaxStartups 100
MaxSessions 100
CONF
  /usr/sbin/sshd -D -e -f "$1/sshd_config" 2>"$1/sshd.log" &
  sshd_pid=$! # read by the caller's cleanup
  export sshd_pid
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null && break; sleep 0.1; done
}
