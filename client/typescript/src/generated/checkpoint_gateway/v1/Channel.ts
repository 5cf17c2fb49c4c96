// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface Channel {
  /**
   * Unique within the checkpoint.
   */
  'name'?: (string);
  /**
   * Identifies the value within (lineage, name): a version is stored once and never
   * changes (another value under a stored version is ABORTED).
   */
  'version'?: (string);
  /**
   * Present: this version's value. Absent (on Save only): the value already stored.
   */
  'value'?: (Buffer | Uint8Array | string);
  /**
   * Media type of value; "" means application/octet-stream.
   */
  'contentType'?: (string);
  '_value'?: "value";
}

export interface Channel__Output {
  /**
   * Unique within the checkpoint.
   */
  'name': (string);
  /**
   * Identifies the value within (lineage, name): a version is stored once and never
   * changes (another value under a stored version is ABORTED).
   */
  'version': (string);
  /**
   * Present: this version's value. Absent (on Save only): the value already stored.
   */
  'value'?: (Buffer);
  /**
   * Media type of value; "" means application/octet-stream.
   */
  'contentType': (string);
  '_value'?: "value";
}
