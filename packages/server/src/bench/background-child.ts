/**
 * Background ingest for the look-up benchmark, in a process of its own so that its work does not delay the
 * look-up client: `node background-child.js PORT WRITE_KEY PEOPLE RATE`. Four paced senders of `track` calls on
 * existing people, 100 a request, their requests spread evenly in time (sender i a quarter of a period after sender
 * i − 1: at 5,000 events/s, a request every 20 ms rather than four at once every 80 ms); on SIGTERM it prints
 * `{"sent": N, "seconds": S}` and exits.
 */
const [port, writeKey, people, rate] = process.argv.slice(2);
const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
const SENDERS = 4;
const perSender = Number(rate) / SENDERS;
/** Each sender's time between requests, ms. */
const period = (100 / perSender) * 1000;
const start = Date.now();
let running = true;
let sent = 0;
let n = 0;

async function sender(i: number) {
  let mine = 0;
  const offset = (i * period) / SENDERS;
  await new Promise((r) => setTimeout(r, offset));
  while (running) {
    const calls = [];
    for (let i = 0; i < 100; i++) {
      const k = n++;
      calls.push({
        type: 'track',
        messageId: `bg-${process.pid}-${k}`,
        userId: `bench-user-${(k * 7919) % Number(people)}`,
        event: 'Page Viewed',
        properties: { k },
        timestamp: new Date().toISOString(),
      });
    }
    const res = await fetch(`http://127.0.0.1:${port}/v1/batch`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: calls }),
    });
    await res.arrayBuffer();
    if (res.status === 200) sent += 100;
    mine += 100;
    const wait = start + offset + (mine / perSender) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

process.once('SIGTERM', () => {
  running = false;
});
await Promise.all(Array.from({ length: SENDERS }, (_, i) => sender(i)));
process.stdout.write(`${JSON.stringify({ sent, seconds: (Date.now() - start) / 1000 })}\n`);
