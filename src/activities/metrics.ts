// Metric windows for the canary and shadow gates, read from the inference log (the queries live in
// src/registry/inference-windows.ts).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { CanaryWindow } from '../policy/gates.js';
import { canaryWindow, shadowAgreement, type ShadowAgreement, type ShadowArgs } from '../registry/inference-windows.js';

export function createMetricsActivities(db: Kysely<Database>) {
  return {
    /** Both versions' traffic in the window, with their scores binned as the model's contract reads them. */
    async measureCanaryWindow(args: { model: string; baseline: string; candidate: string; from: string; to: string }): Promise<CanaryWindow> {
      return await canaryWindow(db, args);
    },

    /** How often the shadow agreed with the primary on the same requests (same class, or a regression prediction within the tolerance). */
    async measureShadowWindow(args: ShadowArgs): Promise<ShadowAgreement> {
      return await shadowAgreement(db, args);
    },
  };
}
