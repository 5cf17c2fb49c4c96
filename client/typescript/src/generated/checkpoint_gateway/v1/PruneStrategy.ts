// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

export const PruneStrategy = {
  /**
   * KEEP_LATEST.
   */
  PRUNE_STRATEGY_UNSPECIFIED: 'PRUNE_STRATEGY_UNSPECIFIED',
  /**
   * Keep the newest checkpoint of each namespace, with its writes and channels.
   */
  PRUNE_STRATEGY_KEEP_LATEST: 'PRUNE_STRATEGY_KEEP_LATEST',
  /**
   * Remove every checkpoint (as Clear does).
   */
  PRUNE_STRATEGY_DELETE_ALL: 'PRUNE_STRATEGY_DELETE_ALL',
} as const;

export type PruneStrategy =
  /**
   * KEEP_LATEST.
   */
  | 'PRUNE_STRATEGY_UNSPECIFIED'
  | 0
  /**
   * Keep the newest checkpoint of each namespace, with its writes and channels.
   */
  | 'PRUNE_STRATEGY_KEEP_LATEST'
  | 1
  /**
   * Remove every checkpoint (as Clear does).
   */
  | 'PRUNE_STRATEGY_DELETE_ALL'
  | 2

export type PruneStrategy__Output = typeof PruneStrategy[keyof typeof PruneStrategy]
