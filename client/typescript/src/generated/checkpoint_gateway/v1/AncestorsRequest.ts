// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface AncestorsRequest {
  'executionId'?: (string);
  'namespace'?: (string);
  /**
   * Where the walk starts: its parent comes first (or itself, with include_self).
   */
  'checkpointId'?: (string);
  'includeSelf'?: (boolean);
  /**
   * Empty: every ancestor, whole, up to the root. Given: each ancestor's pending writes
   * and channels only for these channels, and the walk ends at the first ancestor
   * where each of them has been found in the channels of a returned checkpoint (the
   * seed a DeltaChannel replays its writes onto).
   */
  'channels'?: (string)[];
  /**
   * Fill state (by default it is left empty: a walk needs writes and channels).
   */
  'includeState'?: (boolean);
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface AncestorsRequest__Output {
  'executionId': (string);
  'namespace': (string);
  /**
   * Where the walk starts: its parent comes first (or itself, with include_self).
   */
  'checkpointId': (string);
  'includeSelf': (boolean);
  /**
   * Empty: every ancestor, whole, up to the root. Given: each ancestor's pending writes
   * and channels only for these channels, and the walk ends at the first ancestor
   * where each of them has been found in the channels of a returned checkpoint (the
   * seed a DeltaChannel replays its writes onto).
   */
  'channels': (string)[];
  /**
   * Fill state (by default it is left empty: a walk needs writes and channels).
   */
  'includeState': (boolean);
  'pageSize': (number);
  'pageToken': (string);
}
