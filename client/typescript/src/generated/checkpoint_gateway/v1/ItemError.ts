// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface ItemError {
  /**
   * The gRPC status code number Save would have returned (3 INVALID_ARGUMENT, 10 ABORTED...).
   */
  'code'?: (number);
  'message'?: (string);
}

export interface ItemError__Output {
  /**
   * The gRPC status code number Save would have returned (3 INVALID_ARGUMENT, 10 ABORTED...).
   */
  'code': (number);
  'message': (string);
}
