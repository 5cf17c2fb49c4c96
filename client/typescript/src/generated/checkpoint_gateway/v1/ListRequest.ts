// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface ListRequest {
  'executionId'?: (string);
  'namespace'?: (string);
  /**
   * 0 = the gateway's default page size; values over the maximum are lowered to it.
   */
  'pageSize'?: (number);
  /**
   * next_page_token of the previous page; "" for the first page.
   */
  'pageToken'?: (string);
  /**
   * Only checkpoints older than this checkpoint_id.
   */
  'before'?: (string);
  /**
   * A JSON object; only checkpoints whose metadata has each key with an equal value.
   * Values must be scalars (string, number, boolean, null); strings of Unicode text only.
   */
  'metadataFilter'?: (string);
  /**
   * Every namespace of the execution (namespace is then only where `before` is looked
   * up), newest first by created_at, then namespace and version, descending.
   */
  'allNamespaces'?: (boolean);
  /**
   * Fill each checkpoint's pending_writes, so a history page takes one call.
   */
  'includeWrites'?: (boolean);
}

export interface ListRequest__Output {
  'executionId': (string);
  'namespace': (string);
  /**
   * 0 = the gateway's default page size; values over the maximum are lowered to it.
   */
  'pageSize': (number);
  /**
   * next_page_token of the previous page; "" for the first page.
   */
  'pageToken': (string);
  /**
   * Only checkpoints older than this checkpoint_id.
   */
  'before': (string);
  /**
   * A JSON object; only checkpoints whose metadata has each key with an equal value.
   * Values must be scalars (string, number, boolean, null); strings of Unicode text only.
   */
  'metadataFilter': (string);
  /**
   * Every namespace of the execution (namespace is then only where `before` is looked
   * up), newest first by created_at, then namespace and version, descending.
   */
  'allNamespaces': (boolean);
  /**
   * Fill each checkpoint's pending_writes, so a history page takes one call.
   */
  'includeWrites': (boolean);
}
