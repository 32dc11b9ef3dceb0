// Workflows report events through here: the drift monitor (drift), the retrain (retrain_started,
// retrain_ended) and the lifecycle (rollout_phase, rollout_outcome). Best effort: an activity that
// timed out is logged in the workflow and forgotten, never a reason for the workflow to fail.
import { log } from '@temporalio/workflow';
import type { LoopEventInput } from '../loop/notify.js';
import { notifications } from './activity-profiles.js';

/** Logs the event and posts it to the model's webhook (the event's webhookUrl, the loop policy's, or SLUICE_WEBHOOK_URL). */
export async function notify(event: LoopEventInput): Promise<void> {
  try {
    await notifications.notifyLoopEvent(event);
  } catch (err) {
    log.warn(`notification ${event.event} for ${event.model} not sent: ${(err as Error).message}`);
  }
}

/** A rollout entered a phase: posted to the rollout policy's webhook only. */
export async function notifyPhase(args: { webhookUrl: string; rolloutId: string; model: string; version: string; phase: string }): Promise<void> {
  try {
    await notifications.notifyPhaseChange(args);
  } catch (err) {
    log.warn(`notification of phase ${args.phase} for rollout ${args.rolloutId} not sent: ${(err as Error).message}`);
  }
}
