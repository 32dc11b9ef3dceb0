// Notifications of what the loop and the lifecycle did: a rollout's phase and outcome, drift
// detected, a retrain started and ended. Each event is one structured log line and, when a webhook
// URL is configured, one signed POST. Best effort by design: a receiver that is down or slow must
// never hold up a rollout or a retrain, so delivery has a bounded timeout and never throws.
//
// Signing: `Sluice-Signature: sha256=<hex>` is HMAC-SHA256(secret, `${timestamp}.${body}`) with
// `Sluice-Timestamp` (Unix seconds) sent beside it. The timestamp is inside the signed text so a
// captured request cannot be replayed later with a fresh timestamp; receivers refuse timestamps
// outside their tolerance (verifyWebhookSignature, 5 minutes by default).
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const LOOP_EVENTS = ['rollout_phase', 'rollout_outcome', 'drift', 'retrain_started', 'retrain_ended'] as const;
export type LoopEventKind = (typeof LOOP_EVENTS)[number];

/** What happened: the model, the kind of event, and the event's own facts (ids, versions, reasons, numbers). */
export interface LoopEvent {
  model: string;
  event: LoopEventKind;
  [detail: string]: unknown;
}

/** What a workflow reports. */
export interface LoopEventInput extends LoopEvent {
  /** A URL that wins over the model's loop policy and SLUICE_WEBHOOK_URL (the rollout policy's notifications.webhookUrl). */
  webhookUrl?: string;
  [detail: string]: unknown;
}

/** The body a webhook receives and the fields of the log line. */
export interface LoopEventBody {
  event: LoopEventKind;
  model: string;
  at: string;
  /** Unique per delivery: receivers drop a repeat (an activity that ran twice). */
  deliveryId: string;
  [detail: string]: unknown;
}

export interface Delivery {
  delivered: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why nothing was delivered: no webhook configured, or the error. */
  reason?: string;
}

export interface NotifierOptions {
  /** The HMAC key; without one, requests go unsigned (receivers that require a signature refuse them). */
  secret?: string | null;
  /** The URL events go to when neither the event nor the model's loop policy names one. */
  defaultUrl?: string | null;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Where the structured line goes (one JSON object per event); stdout by default. */
  log?: (line: string) => void;
  now?: () => Date;
}

export const SIGNATURE_HEADER = 'sluice-signature';
export const TIMESTAMP_HEADER = 'sluice-timestamp';
export const EVENT_HEADER = 'sluice-event';
export const DELIVERY_HEADER = 'sluice-delivery';

/** The notifier's settings from the environment: SLUICE_WEBHOOK_SECRET and SLUICE_WEBHOOK_URL. */
export function notifierOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<NotifierOptions, 'secret' | 'defaultUrl'> {
  return { secret: env.SLUICE_WEBHOOK_SECRET || null, defaultUrl: env.SLUICE_WEBHOOK_URL || null };
}

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: the signature matches the body and timestamp under the secret, and the
 * timestamp is within `toleranceSeconds` of now (older deliveries are replays).
 */
export function verifyWebhookSignature(args: {
  secret: string; body: string; timestamp: string | null | undefined; signature: string | null | undefined; toleranceSeconds?: number; now?: Date;
}): { ok: true } | { ok: false; reason: string } {
  if (!args.signature || !args.timestamp) return { ok: false, reason: 'missing signature or timestamp header' };
  const ts = Number(args.timestamp);
  if (!Number.isInteger(ts)) return { ok: false, reason: 'timestamp is not Unix seconds' };
  const age = Math.abs((args.now ?? new Date()).getTime() / 1000 - ts);
  if (age > (args.toleranceSeconds ?? 300)) return { ok: false, reason: `timestamp is ${Math.round(age)} s away from now` };
  const expected = Buffer.from(signWebhook(args.secret, ts, args.body));
  const given = Buffer.from(args.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

export interface Notifier {
  /** Logs the event and posts it to `url` (when there is one); never throws. */
  notify(input: LoopEvent, url: string | null): Promise<Delivery>;
  readonly defaultUrl: string | null;
}

export function createNotifier(opts: NotifierOptions = {}): Notifier {
  const fetchImpl = opts.fetch ?? fetch;
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const timeoutMs = opts.timeoutMs ?? 3000;

  async function post(url: string, body: LoopEventBody): Promise<Delivery> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', [EVENT_HEADER]: body.event, [DELIVERY_HEADER]: body.deliveryId };
    if (opts.secret) {
      const timestamp = Math.floor(now().getTime() / 1000);
      headers[TIMESTAMP_HEADER] = String(timestamp);
      headers[SIGNATURE_HEADER] = signWebhook(opts.secret, timestamp, text);
    }
    try {
      const res = await fetchImpl(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(timeoutMs) });
      // The receiver's answer is not read: only its status matters, and a slow body must not hold us.
      await res.body?.cancel().catch(() => undefined);
      return res.ok ? { delivered: true, status: res.status } : { delivered: false, status: res.status, reason: `webhook answered ${res.status}` };
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return { delivered: false, reason: `webhook did not answer within ${timeoutMs} ms` };
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { delivered: false, reason: `webhook unreachable: ${cause ?? (err as Error).message}` };
    }
  }

  return {
    defaultUrl: opts.defaultUrl ?? null,
    async notify(input, url) {
      const { model, event, ...details } = input;
      const body: LoopEventBody = { ...details, event, model, at: now().toISOString(), deliveryId: randomUUID() };
      const delivery: Delivery = url ? await post(url, body) : { delivered: false, reason: 'no webhook configured' };
      try {
        log(JSON.stringify({ level: delivery.delivered || !url ? 'info' : 'warn', component: 'sluice.notify', ...body, webhook: url ? { url: redactUrl(url), ...delivery } : null }));
      } catch { /* a log sink that throws must not fail the caller either */ }
      return delivery;
    },
  };
}

/** A URL as the log shows it: no credentials or query string (tokens often travel there). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
