"""A plain MQTT -> TimescaleDB ingest, the peer veghe is measured against.

paho-mqtt subscribes at QoS 1; a writer thread batches rows (5,000 rows or 200 ms) and
writes them with psycopg COPY into a hypertable with the same key veghe uses. Prints
READY once subscribed, then one JSON line with its figures after `--expect` messages.
"""
import argparse
import json
import queue
import threading
import time
from datetime import datetime

import paho.mqtt.client as mqtt
import psycopg

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE TABLE IF NOT EXISTS peer_readings (
    ts timestamptz NOT NULL, node_id text NOT NULL, quantity text NOT NULL,
    value double precision NOT NULL);
SELECT create_hypertable('peer_readings', by_range('ts', INTERVAL '1 day'),
    create_default_indexes => false, if_not_exists => true);
CREATE UNIQUE INDEX IF NOT EXISTS peer_readings_key ON peer_readings (node_id, quantity, ts DESC);
CREATE INDEX IF NOT EXISTS peer_readings_ts ON peer_readings (ts DESC);
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--db", required=True)
    ap.add_argument("--expect", type=int, required=True, help="messages to wait for")
    ap.add_argument("--batch-rows", type=int, default=5000)
    ap.add_argument("--batch-interval", type=float, default=0.2)
    args = ap.parse_args()

    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(SCHEMA)

    inbox = queue.Queue()
    done = threading.Event()
    stats = {"first": None, "last_commit": None, "messages": 0, "rows": 0, "lags": []}

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe("veghe/v1/sensors/+/readings", qos=1)

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        print("READY", flush=True)

    def on_message(client, userdata, msg):
        if stats["first"] is None:
            stats["first"] = time.time()
        inbox.put(msg.payload)

    def writer():
        conn = psycopg.connect(args.db)
        while not done.is_set():
            batch, rows = [], 0
            deadline = time.time() + args.batch_interval
            while rows < args.batch_rows:
                timeout = deadline - time.time()
                if timeout <= 0:
                    break
                try:
                    payload = inbox.get(timeout=timeout)
                except queue.Empty:
                    break
                try:
                    m = json.loads(payload)
                    ts = m["ts"]
                    node = m["node"]
                    values = m["values"]
                except (ValueError, KeyError, TypeError):
                    continue
                batch.append((node, ts, values))
                rows += len(values)
            if not batch:
                continue
            with conn.cursor() as cur:
                with cur.copy("COPY peer_readings (ts, node_id, quantity, value) FROM STDIN") as copy:
                    for node, ts, values in batch:
                        for q, v in values.items():
                            copy.write_row((ts, node, q, v))
            conn.commit()
            now = time.time()
            stats["last_commit"] = now
            for _node, ts, _values in batch:
                stats["lags"].append(now - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
            stats["messages"] += len(batch)
            stats["rows"] += rows
            if stats["messages"] >= args.expect:
                done.set()

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="peer-ingest", clean_session=True)
    client.max_inflight_messages_set(5000)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(args.host, args.port, keepalive=30)
    client.loop_start()
    done.wait()
    client.loop_stop()
    lags = sorted(stats["lags"])
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
    seconds = stats["last_commit"] - stats["first"]
    print(json.dumps({
        "messages": stats["messages"], "readings": stats["rows"], "seconds": seconds,
        "p50_s": pick(0.50), "p99_s": pick(0.99),
    }), flush=True)


if __name__ == "__main__":
    main()
