// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface SearchRequest {
  /**
   * As in ListRequest; "" matches every checkpoint.
   */
  'metadataFilter'?: (string);
  'pageSize'?: (number);
  'pageToken'?: (string);
  'includeWrites'?: (boolean);
}

export interface SearchRequest__Output {
  /**
   * As in ListRequest; "" matches every checkpoint.
   */
  'metadataFilter': (string);
  'pageSize': (number);
  'pageToken': (string);
  'includeWrites': (boolean);
}
