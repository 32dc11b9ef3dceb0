// The string formats TypeBox checks (`format: 'uri'`, `'date-time'`). TypeBox knows none by itself
// and refuses a value whose format is unknown, so every module that validates documents with these
// formats imports this one: the API, and the policy parsers that also run in the orchestrator.
import { FormatRegistry } from '@sinclair/typebox';

FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)));
FormatRegistry.Set('uri', (v) => { try { new URL(v); return true; } catch { return false; } });
