/**
 * @module
 * Messages ⇄ JSON, re-exported from core/json.ts (pure) for the node's HTTP layer and CLI.
 */
export { checkJsonDepth, fromJson, toJson } from '../core/json.js'
