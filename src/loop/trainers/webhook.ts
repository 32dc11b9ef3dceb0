// An external trainer behind HTTP: Sluice POSTs the job (the training and holdout CSV inline, their
// artifact URIs and sha256, the params) as JSON and expects the ONNX model's bytes back in the
// answer (2xx, any content type) within the timeout. Anything else fails with the status and the
// start of the answer's body.
import fsp from 'node:fs/promises';
import type { Trainer } from './trainer.js';
import { HEARTBEAT_MS, TrainerError } from './trainer.js';

export function webhookTrainer(url: string, timeoutSeconds: number, params: Record<string, unknown>, fetchImpl: typeof fetch = fetch): Trainer {
  return {
    ref: { kind: 'webhook', name: url, params },
    async train(job) {
      const body = JSON.stringify({
        retrainId: job.retrainId, model: job.model, contract: job.contract, params, labelColumn: 'label',
        train: { ...job.data.train, csv: await fsp.readFile(job.trainFile, 'utf8') },
        holdout: { ...job.data.holdout, csv: await fsp.readFile(job.holdoutFile, 'utf8') },
      });
      const started = Date.now();
      const beat = setInterval(() => job.heartbeat({ trainer: url, waitingSeconds: Math.round((Date.now() - started) / 1000) }), HEARTBEAT_MS);
      const signal = AbortSignal.any([job.signal, AbortSignal.timeout(timeoutSeconds * 1000)]);
      try {
        let res: Response;
        let bytes: Uint8Array;
        try {
          res = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/octet-stream' }, body, signal });
          bytes = new Uint8Array(await res.arrayBuffer());
        } catch (err) {
          if (job.signal.aborted) throw new TrainerError(`trainer webhook ${url} was cancelled`);
          if (signal.aborted) throw new TrainerError(`trainer webhook ${url} did not answer within ${timeoutSeconds} s`);
          throw new TrainerError(`trainer webhook ${url} cannot be reached: ${(err as Error).message}`);
        }
        if (!res.ok) throw new TrainerError(`trainer webhook ${url} answered ${res.status}: ${Buffer.from(bytes.subarray(0, 2048)).toString('utf8')}`);
        if (bytes.length === 0) throw new TrainerError(`trainer webhook ${url} answered ${res.status} with an empty body, not a model`);
        await fsp.writeFile(job.outFile, bytes);
      } finally {
        clearInterval(beat);
      }
    },
  };
}
