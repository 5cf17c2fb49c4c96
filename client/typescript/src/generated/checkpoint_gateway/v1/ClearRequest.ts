// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface ClearRequest {
  'executionId'?: (string);
  /**
   * Unset: every namespace of the execution. Set (even to ""): that namespace only.
   */
  'namespace'?: (string);
  '_namespace'?: "namespace";
}

export interface ClearRequest__Output {
  'executionId': (string);
  /**
   * Unset: every namespace of the execution. Set (even to ""): that namespace only.
   */
  'namespace'?: (string);
  '_namespace'?: "namespace";
}
