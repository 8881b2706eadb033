#!/usr/bin/env bash
# Restarts a message broker for test/broker-restart.serial.test.ts (.ci/run exports the commands):
#   scripts/restart-broker.sh nats [port] [store-dir]      stops nats-server on that port, starts it again with JetStream on the same store
#   scripts/restart-broker.sh rabbit [node]                restarts the RabbitMQ application of that node (rabbitmqctl stop_app / start_app):
#                                                          every connection drops; durable exchanges, queues and persistent messages stay
# and returns once the broker accepts connections again.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 1 120); do port_open "$1" && return 0; sleep 0.5; done; echo "port $1 did not open" >&2; return 1; }

case "${1:-}" in
  nats)
    port="${2:-4222}"; store="${3:-/var/lib/nats-server}"
    pkill -f "nats-server -a 127.0.0.1 -p ${port} " || true
    for _ in $(seq 1 60); do port_open "$port" || break; sleep 0.5; done
    # Detached from this shell, so the server outlives the test that asked for the restart.
    setsid nohup /usr/sbin/nats-server -a 127.0.0.1 -p "$port" -js -sd "$store" -l "/var/log/nats-server-${port}.log" >/dev/null 2>&1 < /dev/null &
    wait_port "$port"
    ;;
  rabbit)
    node="${2:-}"
    rabbitmqctl ${node:+-n "$node"} stop_app >/dev/null
    rabbitmqctl ${node:+-n "$node"} start_app >/dev/null
    ;;
  *) echo "usage: $0 nats [port] [store-dir] | rabbit [node]" >&2; exit 2 ;;
esac
