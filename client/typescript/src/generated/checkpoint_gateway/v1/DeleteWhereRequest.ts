// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface DeleteWhereRequest {
  /**
   * A JSON object as in ListRequest; it must not be empty.
   */
  'metadataFilter'?: (string);
  /**
   * Set: within that execution only. Unset: across every execution.
   */
  'executionId'?: (string);
  '_executionId'?: "executionId";
}

export interface DeleteWhereRequest__Output {
  /**
   * A JSON object as in ListRequest; it must not be empty.
   */
  'metadataFilter': (string);
  /**
   * Set: within that execution only. Unset: across every execution.
   */
  'executionId'?: (string);
  '_executionId'?: "executionId";
}
