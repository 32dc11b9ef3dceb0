// Metric windows for the canary and shadow gates, read from the inference log (the queries live in
// src/registry/inference-windows.ts).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { CanaryWindow } from '../policy/gates.js';
import { canaryWindow, shadowAgreement, type ShadowAgreement } from '../registry/inference-windows.js';

export function createMetricsActivities(db: Kysely<Database>) {
  return {
    async measureCanaryWindow(args: { model: string; baseline: string; candidate: string; from: string; to: string }): Promise<CanaryWindow> {
      return await canaryWindow(db, args);
    },

    /** How often the shadow predicted the primary's class for the same requests. */
    async measureShadowWindow(args: { model: string; primary: string; shadow: string; from: string; to: string }): Promise<ShadowAgreement> {
      return await shadowAgreement(db, args);
    },
  };
}
