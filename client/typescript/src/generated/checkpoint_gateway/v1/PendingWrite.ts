// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface PendingWrite {
  'taskId'?: (string);
  /**
   * Position of the write within the task; negative values are reserved for special
   * channels (LangGraph's error/interrupt writes).
   */
  'idx'?: (number);
  'channel'?: (string);
  'value'?: (Buffer | Uint8Array | string);
  'contentType'?: (string);
  /**
   * LangGraph task_path; optional.
   */
  'taskPath'?: (string);
}

export interface PendingWrite__Output {
  'taskId': (string);
  /**
   * Position of the write within the task; negative values are reserved for special
   * channels (LangGraph's error/interrupt writes).
   */
  'idx': (number);
  'channel': (string);
  'value': (Buffer);
  'contentType': (string);
  /**
   * LangGraph task_path; optional.
   */
  'taskPath': (string);
}
