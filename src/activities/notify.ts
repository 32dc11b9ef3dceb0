// The notification activities: every event the lifecycle, the drift monitor and the retrain report
// goes through one notifier (src/loop/notify.ts): a structured log line, and a signed webhook when a
// URL is configured. They never throw, so a receiver that is down never fails a workflow.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { createNotifier, notifierOptionsFromEnv, type Delivery, type LoopEventInput, type Notifier, type NotifierOptions } from '../loop/notify.js';
import { findModel } from '../registry/models.js';

export function createNotifyActivities(db: Kysely<Database>, notifier: Notifier = createNotifier(notifierOptionsFromEnv())) {
  /** The event's own URL, else the model's loop policy's, else the global SLUICE_WEBHOOK_URL. */
  async function webhookFor(input: LoopEventInput): Promise<string | null> {
    if (input.webhookUrl) return input.webhookUrl;
    const model = await findModel(db, input.model);
    return model?.loop_policy?.notifications?.webhookUrl ?? notifier.defaultUrl;
  }

  return {
    /** A rollout entered a phase: sent only to the rollout policy's webhook, as before the loop existed. */
    async notifyPhaseChange(args: { webhookUrl: string; rolloutId: string; model: string; version: string; phase: string }): Promise<Delivery> {
      const { webhookUrl, ...details } = args;
      return await notifier.notify({ ...details, event: 'rollout_phase' }, webhookUrl);
    },

    /**
     * Drift detected, a retrain started or ended, a rollout's outcome: logged, and posted to the
     * event's webhookUrl, the model's loop policy notifications.webhookUrl or SLUICE_WEBHOOK_URL.
     */
    async notifyLoopEvent(input: LoopEventInput): Promise<Delivery> {
      const { webhookUrl: _url, ...event } = input;
      let url: string | null;
      try {
        url = await webhookFor(input);
      } catch (err) {
        // The policy could not be read (the database is away): the global URL still hears of it.
        url = notifier.defaultUrl;
        event.policyError = (err as Error).message;
      }
      return await notifier.notify(event, url);
    },
  };
}

export type { NotifierOptions };
