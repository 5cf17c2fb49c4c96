package io.checkpointgateway.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: checkpoint_gateway/v1/checkpoint.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class CheckpointServiceGrpc {

  private CheckpointServiceGrpc() {}

  public static final String SERVICE_NAME = "checkpoint_gateway.v1.CheckpointService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.SaveRequest,
      io.checkpointgateway.v1.SaveResponse> getSaveMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Save",
      requestType = io.checkpointgateway.v1.SaveRequest.class,
      responseType = io.checkpointgateway.v1.SaveResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.SaveRequest,
      io.checkpointgateway.v1.SaveResponse> getSaveMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.SaveRequest, io.checkpointgateway.v1.SaveResponse> getSaveMethod;
    if ((getSaveMethod = CheckpointServiceGrpc.getSaveMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getSaveMethod = CheckpointServiceGrpc.getSaveMethod) == null) {
          CheckpointServiceGrpc.getSaveMethod = getSaveMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.SaveRequest, io.checkpointgateway.v1.SaveResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Save"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.SaveRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.SaveResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Save"))
              .build();
        }
      }
    }
    return getSaveMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.LoadRequest,
      io.checkpointgateway.v1.LoadResponse> getLoadMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Load",
      requestType = io.checkpointgateway.v1.LoadRequest.class,
      responseType = io.checkpointgateway.v1.LoadResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.LoadRequest,
      io.checkpointgateway.v1.LoadResponse> getLoadMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.LoadRequest, io.checkpointgateway.v1.LoadResponse> getLoadMethod;
    if ((getLoadMethod = CheckpointServiceGrpc.getLoadMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getLoadMethod = CheckpointServiceGrpc.getLoadMethod) == null) {
          CheckpointServiceGrpc.getLoadMethod = getLoadMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.LoadRequest, io.checkpointgateway.v1.LoadResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Load"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.LoadRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.LoadResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Load"))
              .build();
        }
      }
    }
    return getLoadMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.LatestRequest,
      io.checkpointgateway.v1.LatestResponse> getLatestMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Latest",
      requestType = io.checkpointgateway.v1.LatestRequest.class,
      responseType = io.checkpointgateway.v1.LatestResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.LatestRequest,
      io.checkpointgateway.v1.LatestResponse> getLatestMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.LatestRequest, io.checkpointgateway.v1.LatestResponse> getLatestMethod;
    if ((getLatestMethod = CheckpointServiceGrpc.getLatestMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getLatestMethod = CheckpointServiceGrpc.getLatestMethod) == null) {
          CheckpointServiceGrpc.getLatestMethod = getLatestMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.LatestRequest, io.checkpointgateway.v1.LatestResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Latest"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.LatestRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.LatestResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Latest"))
              .build();
        }
      }
    }
    return getLatestMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListRequest,
      io.checkpointgateway.v1.ListResponse> getListMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "List",
      requestType = io.checkpointgateway.v1.ListRequest.class,
      responseType = io.checkpointgateway.v1.ListResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListRequest,
      io.checkpointgateway.v1.ListResponse> getListMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListRequest, io.checkpointgateway.v1.ListResponse> getListMethod;
    if ((getListMethod = CheckpointServiceGrpc.getListMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getListMethod = CheckpointServiceGrpc.getListMethod) == null) {
          CheckpointServiceGrpc.getListMethod = getListMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.ListRequest, io.checkpointgateway.v1.ListResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "List"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("List"))
              .build();
        }
      }
    }
    return getListMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.DeleteRequest,
      io.checkpointgateway.v1.DeleteResponse> getDeleteMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Delete",
      requestType = io.checkpointgateway.v1.DeleteRequest.class,
      responseType = io.checkpointgateway.v1.DeleteResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.DeleteRequest,
      io.checkpointgateway.v1.DeleteResponse> getDeleteMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.DeleteRequest, io.checkpointgateway.v1.DeleteResponse> getDeleteMethod;
    if ((getDeleteMethod = CheckpointServiceGrpc.getDeleteMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getDeleteMethod = CheckpointServiceGrpc.getDeleteMethod) == null) {
          CheckpointServiceGrpc.getDeleteMethod = getDeleteMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.DeleteRequest, io.checkpointgateway.v1.DeleteResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Delete"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.DeleteRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.DeleteResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Delete"))
              .build();
        }
      }
    }
    return getDeleteMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.ClearRequest,
      io.checkpointgateway.v1.ClearResponse> getClearMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Clear",
      requestType = io.checkpointgateway.v1.ClearRequest.class,
      responseType = io.checkpointgateway.v1.ClearResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.ClearRequest,
      io.checkpointgateway.v1.ClearResponse> getClearMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.ClearRequest, io.checkpointgateway.v1.ClearResponse> getClearMethod;
    if ((getClearMethod = CheckpointServiceGrpc.getClearMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getClearMethod = CheckpointServiceGrpc.getClearMethod) == null) {
          CheckpointServiceGrpc.getClearMethod = getClearMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.ClearRequest, io.checkpointgateway.v1.ClearResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Clear"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ClearRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ClearResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Clear"))
              .build();
        }
      }
    }
    return getClearMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.PutWritesRequest,
      io.checkpointgateway.v1.PutWritesResponse> getPutWritesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PutWrites",
      requestType = io.checkpointgateway.v1.PutWritesRequest.class,
      responseType = io.checkpointgateway.v1.PutWritesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.PutWritesRequest,
      io.checkpointgateway.v1.PutWritesResponse> getPutWritesMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.PutWritesRequest, io.checkpointgateway.v1.PutWritesResponse> getPutWritesMethod;
    if ((getPutWritesMethod = CheckpointServiceGrpc.getPutWritesMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getPutWritesMethod = CheckpointServiceGrpc.getPutWritesMethod) == null) {
          CheckpointServiceGrpc.getPutWritesMethod = getPutWritesMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.PutWritesRequest, io.checkpointgateway.v1.PutWritesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PutWrites"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.PutWritesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.PutWritesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("PutWrites"))
              .build();
        }
      }
    }
    return getPutWritesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.SaveManyRequest,
      io.checkpointgateway.v1.SaveManyResponse> getSaveManyMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "SaveMany",
      requestType = io.checkpointgateway.v1.SaveManyRequest.class,
      responseType = io.checkpointgateway.v1.SaveManyResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.SaveManyRequest,
      io.checkpointgateway.v1.SaveManyResponse> getSaveManyMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.SaveManyRequest, io.checkpointgateway.v1.SaveManyResponse> getSaveManyMethod;
    if ((getSaveManyMethod = CheckpointServiceGrpc.getSaveManyMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getSaveManyMethod = CheckpointServiceGrpc.getSaveManyMethod) == null) {
          CheckpointServiceGrpc.getSaveManyMethod = getSaveManyMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.SaveManyRequest, io.checkpointgateway.v1.SaveManyResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "SaveMany"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.SaveManyRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.SaveManyResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("SaveMany"))
              .build();
        }
      }
    }
    return getSaveManyMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListNamespacesRequest,
      io.checkpointgateway.v1.ListNamespacesResponse> getListNamespacesMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListNamespaces",
      requestType = io.checkpointgateway.v1.ListNamespacesRequest.class,
      responseType = io.checkpointgateway.v1.ListNamespacesResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListNamespacesRequest,
      io.checkpointgateway.v1.ListNamespacesResponse> getListNamespacesMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListNamespacesRequest, io.checkpointgateway.v1.ListNamespacesResponse> getListNamespacesMethod;
    if ((getListNamespacesMethod = CheckpointServiceGrpc.getListNamespacesMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getListNamespacesMethod = CheckpointServiceGrpc.getListNamespacesMethod) == null) {
          CheckpointServiceGrpc.getListNamespacesMethod = getListNamespacesMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.ListNamespacesRequest, io.checkpointgateway.v1.ListNamespacesResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListNamespaces"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListNamespacesRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListNamespacesResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("ListNamespaces"))
              .build();
        }
      }
    }
    return getListNamespacesMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListExecutionsRequest,
      io.checkpointgateway.v1.ListExecutionsResponse> getListExecutionsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListExecutions",
      requestType = io.checkpointgateway.v1.ListExecutionsRequest.class,
      responseType = io.checkpointgateway.v1.ListExecutionsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListExecutionsRequest,
      io.checkpointgateway.v1.ListExecutionsResponse> getListExecutionsMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.ListExecutionsRequest, io.checkpointgateway.v1.ListExecutionsResponse> getListExecutionsMethod;
    if ((getListExecutionsMethod = CheckpointServiceGrpc.getListExecutionsMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getListExecutionsMethod = CheckpointServiceGrpc.getListExecutionsMethod) == null) {
          CheckpointServiceGrpc.getListExecutionsMethod = getListExecutionsMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.ListExecutionsRequest, io.checkpointgateway.v1.ListExecutionsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListExecutions"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListExecutionsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListExecutionsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("ListExecutions"))
              .build();
        }
      }
    }
    return getListExecutionsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.SearchRequest,
      io.checkpointgateway.v1.ListResponse> getSearchMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Search",
      requestType = io.checkpointgateway.v1.SearchRequest.class,
      responseType = io.checkpointgateway.v1.ListResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.SearchRequest,
      io.checkpointgateway.v1.ListResponse> getSearchMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.SearchRequest, io.checkpointgateway.v1.ListResponse> getSearchMethod;
    if ((getSearchMethod = CheckpointServiceGrpc.getSearchMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getSearchMethod = CheckpointServiceGrpc.getSearchMethod) == null) {
          CheckpointServiceGrpc.getSearchMethod = getSearchMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.SearchRequest, io.checkpointgateway.v1.ListResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Search"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.SearchRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.ListResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Search"))
              .build();
        }
      }
    }
    return getSearchMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.DeleteWhereRequest,
      io.checkpointgateway.v1.DeleteWhereResponse> getDeleteWhereMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "DeleteWhere",
      requestType = io.checkpointgateway.v1.DeleteWhereRequest.class,
      responseType = io.checkpointgateway.v1.DeleteWhereResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.DeleteWhereRequest,
      io.checkpointgateway.v1.DeleteWhereResponse> getDeleteWhereMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.DeleteWhereRequest, io.checkpointgateway.v1.DeleteWhereResponse> getDeleteWhereMethod;
    if ((getDeleteWhereMethod = CheckpointServiceGrpc.getDeleteWhereMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getDeleteWhereMethod = CheckpointServiceGrpc.getDeleteWhereMethod) == null) {
          CheckpointServiceGrpc.getDeleteWhereMethod = getDeleteWhereMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.DeleteWhereRequest, io.checkpointgateway.v1.DeleteWhereResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "DeleteWhere"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.DeleteWhereRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.DeleteWhereResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("DeleteWhere"))
              .build();
        }
      }
    }
    return getDeleteWhereMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.CopyExecutionRequest,
      io.checkpointgateway.v1.CopyExecutionResponse> getCopyExecutionMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CopyExecution",
      requestType = io.checkpointgateway.v1.CopyExecutionRequest.class,
      responseType = io.checkpointgateway.v1.CopyExecutionResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.CopyExecutionRequest,
      io.checkpointgateway.v1.CopyExecutionResponse> getCopyExecutionMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.CopyExecutionRequest, io.checkpointgateway.v1.CopyExecutionResponse> getCopyExecutionMethod;
    if ((getCopyExecutionMethod = CheckpointServiceGrpc.getCopyExecutionMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getCopyExecutionMethod = CheckpointServiceGrpc.getCopyExecutionMethod) == null) {
          CheckpointServiceGrpc.getCopyExecutionMethod = getCopyExecutionMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.CopyExecutionRequest, io.checkpointgateway.v1.CopyExecutionResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CopyExecution"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.CopyExecutionRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.CopyExecutionResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("CopyExecution"))
              .build();
        }
      }
    }
    return getCopyExecutionMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.PruneRequest,
      io.checkpointgateway.v1.PruneResponse> getPruneMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Prune",
      requestType = io.checkpointgateway.v1.PruneRequest.class,
      responseType = io.checkpointgateway.v1.PruneResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.PruneRequest,
      io.checkpointgateway.v1.PruneResponse> getPruneMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.PruneRequest, io.checkpointgateway.v1.PruneResponse> getPruneMethod;
    if ((getPruneMethod = CheckpointServiceGrpc.getPruneMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getPruneMethod = CheckpointServiceGrpc.getPruneMethod) == null) {
          CheckpointServiceGrpc.getPruneMethod = getPruneMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.PruneRequest, io.checkpointgateway.v1.PruneResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Prune"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.PruneRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.PruneResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Prune"))
              .build();
        }
      }
    }
    return getPruneMethod;
  }

  private static volatile io.grpc.MethodDescriptor<io.checkpointgateway.v1.AncestorsRequest,
      io.checkpointgateway.v1.AncestorsResponse> getAncestorsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Ancestors",
      requestType = io.checkpointgateway.v1.AncestorsRequest.class,
      responseType = io.checkpointgateway.v1.AncestorsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<io.checkpointgateway.v1.AncestorsRequest,
      io.checkpointgateway.v1.AncestorsResponse> getAncestorsMethod() {
    io.grpc.MethodDescriptor<io.checkpointgateway.v1.AncestorsRequest, io.checkpointgateway.v1.AncestorsResponse> getAncestorsMethod;
    if ((getAncestorsMethod = CheckpointServiceGrpc.getAncestorsMethod) == null) {
      synchronized (CheckpointServiceGrpc.class) {
        if ((getAncestorsMethod = CheckpointServiceGrpc.getAncestorsMethod) == null) {
          CheckpointServiceGrpc.getAncestorsMethod = getAncestorsMethod =
              io.grpc.MethodDescriptor.<io.checkpointgateway.v1.AncestorsRequest, io.checkpointgateway.v1.AncestorsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Ancestors"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.AncestorsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  io.checkpointgateway.v1.AncestorsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new CheckpointServiceMethodDescriptorSupplier("Ancestors"))
              .build();
        }
      }
    }
    return getAncestorsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static CheckpointServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CheckpointServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CheckpointServiceStub>() {
        @java.lang.Override
        public CheckpointServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CheckpointServiceStub(channel, callOptions);
        }
      };
    return CheckpointServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static CheckpointServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CheckpointServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CheckpointServiceBlockingStub>() {
        @java.lang.Override
        public CheckpointServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CheckpointServiceBlockingStub(channel, callOptions);
        }
      };
    return CheckpointServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static CheckpointServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<CheckpointServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<CheckpointServiceFutureStub>() {
        @java.lang.Override
        public CheckpointServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new CheckpointServiceFutureStub(channel, callOptions);
        }
      };
    return CheckpointServiceFutureStub.newStub(factory, channel);
  }

  /**
   */
  public static abstract class CheckpointServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
     * content is a no-op that returns the stored version (so retries are safe); with
     * different content it is ABORTED.
     * </pre>
     */
    public void save(io.checkpointgateway.v1.SaveRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.SaveResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSaveMethod(), responseObserver);
    }

    /**
     * <pre>
     * Load returns one checkpoint with its pending writes.
     * </pre>
     */
    public void load(io.checkpointgateway.v1.LoadRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.LoadResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLoadMethod(), responseObserver);
    }

    /**
     * <pre>
     * Latest returns the newest checkpoint of a lineage with its pending writes.
     * </pre>
     */
    public void latest(io.checkpointgateway.v1.LatestRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.LatestResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLatestMethod(), responseObserver);
    }

    /**
     * <pre>
     * List returns checkpoints newest first, one page at a time.
     * </pre>
     */
    public void list(io.checkpointgateway.v1.ListRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListMethod(), responseObserver);
    }

    /**
     * <pre>
     * Delete removes one checkpoint and its pending writes. Deleting a missing
     * checkpoint succeeds with deleted = false.
     * </pre>
     */
    public void delete(io.checkpointgateway.v1.DeleteRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.DeleteResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteMethod(), responseObserver);
    }

    /**
     * <pre>
     * Clear removes every checkpoint of an execution (one namespace, or all of them).
     * </pre>
     */
    public void clear(io.checkpointgateway.v1.ClearRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ClearResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getClearMethod(), responseObserver);
    }

    /**
     * <pre>
     * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
     * by (task_id, idx) and never duplicated: for idx &gt;= 0 the first write of a key wins
     * (a retry changes nothing); a special write (idx &lt; 0: LangGraph's error, interrupt,
     * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
     * may send a step's writes before, or alongside, the save of its checkpoint, and Load
     * and Latest return them once it is saved. Writes whose checkpoint never comes go with
     * Delete of that id, Clear, Prune, retention and TTL.
     * </pre>
     */
    public void putWrites(io.checkpointgateway.v1.PutWritesRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.PutWritesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPutWritesMethod(), responseObserver);
    }

    /**
     * <pre>
     * SaveMany stores several checkpoints in one call, in order, each on its own: every
     * item gets its SaveResponse or its own error (the status Save would have returned),
     * so one conflict does not fail the rest. Saves of one lineage get consecutive
     * versions in request order. The call as a whole fails only when it is refused
     * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
     * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
     * </pre>
     */
    public void saveMany(io.checkpointgateway.v1.SaveManyRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.SaveManyResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSaveManyMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
     * point order ("" first), one page at a time.
     * </pre>
     */
    public void listNamespaces(io.checkpointgateway.v1.ListNamespacesRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListNamespacesResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListNamespacesMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListExecutions returns the executions (threads) that hold checkpoints, the most
     * recently saved to first, one page at a time.
     * </pre>
     */
    public void listExecutions(io.checkpointgateway.v1.ListExecutionsRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListExecutionsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListExecutionsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Search lists checkpoints across every execution and namespace, newest first
     * (created_at, then execution, namespace and version, descending), filtered by
     * metadata.
     * </pre>
     */
    public void search(io.checkpointgateway.v1.SearchRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getSearchMethod(), responseObserver);
    }

    /**
     * <pre>
     * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
     * pending writes, across executions or within one (LangGraph's delete_for_runs).
     * </pre>
     */
    public void deleteWhere(io.checkpointgateway.v1.DeleteWhereRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.DeleteWhereResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getDeleteWhereMethod(), responseObserver);
    }

    /**
     * <pre>
     * CopyExecution copies an execution to a new execution id: every namespace, every
     * checkpoint with its id, parent, version, created_at, channels and pending writes.
     * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
     * A reader never sees a half-done copy as complete (see the README per backend).
     * </pre>
     */
    public void copyExecution(io.checkpointgateway.v1.CopyExecutionRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.CopyExecutionResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCopyExecutionMethod(), responseObserver);
    }

    /**
     * <pre>
     * Prune thins executions: keep the latest checkpoint of each namespace (with its
     * writes and channels), or delete everything.
     * </pre>
     */
    public void prune(io.checkpointgateway.v1.PruneRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.PruneResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPruneMethod(), responseObserver);
    }

    /**
     * <pre>
     * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
     * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
     * round trip.
     * </pre>
     */
    public void ancestors(io.checkpointgateway.v1.AncestorsRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.AncestorsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAncestorsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getSaveMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.SaveRequest,
                io.checkpointgateway.v1.SaveResponse>(
                  this, METHODID_SAVE)))
          .addMethod(
            getLoadMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.LoadRequest,
                io.checkpointgateway.v1.LoadResponse>(
                  this, METHODID_LOAD)))
          .addMethod(
            getLatestMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.LatestRequest,
                io.checkpointgateway.v1.LatestResponse>(
                  this, METHODID_LATEST)))
          .addMethod(
            getListMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.ListRequest,
                io.checkpointgateway.v1.ListResponse>(
                  this, METHODID_LIST)))
          .addMethod(
            getDeleteMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.DeleteRequest,
                io.checkpointgateway.v1.DeleteResponse>(
                  this, METHODID_DELETE)))
          .addMethod(
            getClearMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.ClearRequest,
                io.checkpointgateway.v1.ClearResponse>(
                  this, METHODID_CLEAR)))
          .addMethod(
            getPutWritesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.PutWritesRequest,
                io.checkpointgateway.v1.PutWritesResponse>(
                  this, METHODID_PUT_WRITES)))
          .addMethod(
            getSaveManyMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.SaveManyRequest,
                io.checkpointgateway.v1.SaveManyResponse>(
                  this, METHODID_SAVE_MANY)))
          .addMethod(
            getListNamespacesMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.ListNamespacesRequest,
                io.checkpointgateway.v1.ListNamespacesResponse>(
                  this, METHODID_LIST_NAMESPACES)))
          .addMethod(
            getListExecutionsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.ListExecutionsRequest,
                io.checkpointgateway.v1.ListExecutionsResponse>(
                  this, METHODID_LIST_EXECUTIONS)))
          .addMethod(
            getSearchMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.SearchRequest,
                io.checkpointgateway.v1.ListResponse>(
                  this, METHODID_SEARCH)))
          .addMethod(
            getDeleteWhereMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.DeleteWhereRequest,
                io.checkpointgateway.v1.DeleteWhereResponse>(
                  this, METHODID_DELETE_WHERE)))
          .addMethod(
            getCopyExecutionMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.CopyExecutionRequest,
                io.checkpointgateway.v1.CopyExecutionResponse>(
                  this, METHODID_COPY_EXECUTION)))
          .addMethod(
            getPruneMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.PruneRequest,
                io.checkpointgateway.v1.PruneResponse>(
                  this, METHODID_PRUNE)))
          .addMethod(
            getAncestorsMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                io.checkpointgateway.v1.AncestorsRequest,
                io.checkpointgateway.v1.AncestorsResponse>(
                  this, METHODID_ANCESTORS)))
          .build();
    }
  }

  /**
   */
  public static final class CheckpointServiceStub extends io.grpc.stub.AbstractAsyncStub<CheckpointServiceStub> {
    private CheckpointServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CheckpointServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CheckpointServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
     * content is a no-op that returns the stored version (so retries are safe); with
     * different content it is ABORTED.
     * </pre>
     */
    public void save(io.checkpointgateway.v1.SaveRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.SaveResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSaveMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Load returns one checkpoint with its pending writes.
     * </pre>
     */
    public void load(io.checkpointgateway.v1.LoadRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.LoadResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLoadMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Latest returns the newest checkpoint of a lineage with its pending writes.
     * </pre>
     */
    public void latest(io.checkpointgateway.v1.LatestRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.LatestResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLatestMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * List returns checkpoints newest first, one page at a time.
     * </pre>
     */
    public void list(io.checkpointgateway.v1.ListRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Delete removes one checkpoint and its pending writes. Deleting a missing
     * checkpoint succeeds with deleted = false.
     * </pre>
     */
    public void delete(io.checkpointgateway.v1.DeleteRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.DeleteResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Clear removes every checkpoint of an execution (one namespace, or all of them).
     * </pre>
     */
    public void clear(io.checkpointgateway.v1.ClearRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ClearResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getClearMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
     * by (task_id, idx) and never duplicated: for idx &gt;= 0 the first write of a key wins
     * (a retry changes nothing); a special write (idx &lt; 0: LangGraph's error, interrupt,
     * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
     * may send a step's writes before, or alongside, the save of its checkpoint, and Load
     * and Latest return them once it is saved. Writes whose checkpoint never comes go with
     * Delete of that id, Clear, Prune, retention and TTL.
     * </pre>
     */
    public void putWrites(io.checkpointgateway.v1.PutWritesRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.PutWritesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPutWritesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * SaveMany stores several checkpoints in one call, in order, each on its own: every
     * item gets its SaveResponse or its own error (the status Save would have returned),
     * so one conflict does not fail the rest. Saves of one lineage get consecutive
     * versions in request order. The call as a whole fails only when it is refused
     * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
     * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
     * </pre>
     */
    public void saveMany(io.checkpointgateway.v1.SaveManyRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.SaveManyResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSaveManyMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
     * point order ("" first), one page at a time.
     * </pre>
     */
    public void listNamespaces(io.checkpointgateway.v1.ListNamespacesRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListNamespacesResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListNamespacesMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListExecutions returns the executions (threads) that hold checkpoints, the most
     * recently saved to first, one page at a time.
     * </pre>
     */
    public void listExecutions(io.checkpointgateway.v1.ListExecutionsRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListExecutionsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListExecutionsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Search lists checkpoints across every execution and namespace, newest first
     * (created_at, then execution, namespace and version, descending), filtered by
     * metadata.
     * </pre>
     */
    public void search(io.checkpointgateway.v1.SearchRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getSearchMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
     * pending writes, across executions or within one (LangGraph's delete_for_runs).
     * </pre>
     */
    public void deleteWhere(io.checkpointgateway.v1.DeleteWhereRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.DeleteWhereResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getDeleteWhereMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * CopyExecution copies an execution to a new execution id: every namespace, every
     * checkpoint with its id, parent, version, created_at, channels and pending writes.
     * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
     * A reader never sees a half-done copy as complete (see the README per backend).
     * </pre>
     */
    public void copyExecution(io.checkpointgateway.v1.CopyExecutionRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.CopyExecutionResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCopyExecutionMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Prune thins executions: keep the latest checkpoint of each namespace (with its
     * writes and channels), or delete everything.
     * </pre>
     */
    public void prune(io.checkpointgateway.v1.PruneRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.PruneResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPruneMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
     * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
     * round trip.
     * </pre>
     */
    public void ancestors(io.checkpointgateway.v1.AncestorsRequest request,
        io.grpc.stub.StreamObserver<io.checkpointgateway.v1.AncestorsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAncestorsMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   */
  public static final class CheckpointServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<CheckpointServiceBlockingStub> {
    private CheckpointServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CheckpointServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CheckpointServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
     * content is a no-op that returns the stored version (so retries are safe); with
     * different content it is ABORTED.
     * </pre>
     */
    public io.checkpointgateway.v1.SaveResponse save(io.checkpointgateway.v1.SaveRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSaveMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Load returns one checkpoint with its pending writes.
     * </pre>
     */
    public io.checkpointgateway.v1.LoadResponse load(io.checkpointgateway.v1.LoadRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLoadMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Latest returns the newest checkpoint of a lineage with its pending writes.
     * </pre>
     */
    public io.checkpointgateway.v1.LatestResponse latest(io.checkpointgateway.v1.LatestRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLatestMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * List returns checkpoints newest first, one page at a time.
     * </pre>
     */
    public io.checkpointgateway.v1.ListResponse list(io.checkpointgateway.v1.ListRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Delete removes one checkpoint and its pending writes. Deleting a missing
     * checkpoint succeeds with deleted = false.
     * </pre>
     */
    public io.checkpointgateway.v1.DeleteResponse delete(io.checkpointgateway.v1.DeleteRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Clear removes every checkpoint of an execution (one namespace, or all of them).
     * </pre>
     */
    public io.checkpointgateway.v1.ClearResponse clear(io.checkpointgateway.v1.ClearRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getClearMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
     * by (task_id, idx) and never duplicated: for idx &gt;= 0 the first write of a key wins
     * (a retry changes nothing); a special write (idx &lt; 0: LangGraph's error, interrupt,
     * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
     * may send a step's writes before, or alongside, the save of its checkpoint, and Load
     * and Latest return them once it is saved. Writes whose checkpoint never comes go with
     * Delete of that id, Clear, Prune, retention and TTL.
     * </pre>
     */
    public io.checkpointgateway.v1.PutWritesResponse putWrites(io.checkpointgateway.v1.PutWritesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPutWritesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * SaveMany stores several checkpoints in one call, in order, each on its own: every
     * item gets its SaveResponse or its own error (the status Save would have returned),
     * so one conflict does not fail the rest. Saves of one lineage get consecutive
     * versions in request order. The call as a whole fails only when it is refused
     * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
     * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
     * </pre>
     */
    public io.checkpointgateway.v1.SaveManyResponse saveMany(io.checkpointgateway.v1.SaveManyRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSaveManyMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
     * point order ("" first), one page at a time.
     * </pre>
     */
    public io.checkpointgateway.v1.ListNamespacesResponse listNamespaces(io.checkpointgateway.v1.ListNamespacesRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListNamespacesMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListExecutions returns the executions (threads) that hold checkpoints, the most
     * recently saved to first, one page at a time.
     * </pre>
     */
    public io.checkpointgateway.v1.ListExecutionsResponse listExecutions(io.checkpointgateway.v1.ListExecutionsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListExecutionsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Search lists checkpoints across every execution and namespace, newest first
     * (created_at, then execution, namespace and version, descending), filtered by
     * metadata.
     * </pre>
     */
    public io.checkpointgateway.v1.ListResponse search(io.checkpointgateway.v1.SearchRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getSearchMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
     * pending writes, across executions or within one (LangGraph's delete_for_runs).
     * </pre>
     */
    public io.checkpointgateway.v1.DeleteWhereResponse deleteWhere(io.checkpointgateway.v1.DeleteWhereRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getDeleteWhereMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * CopyExecution copies an execution to a new execution id: every namespace, every
     * checkpoint with its id, parent, version, created_at, channels and pending writes.
     * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
     * A reader never sees a half-done copy as complete (see the README per backend).
     * </pre>
     */
    public io.checkpointgateway.v1.CopyExecutionResponse copyExecution(io.checkpointgateway.v1.CopyExecutionRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCopyExecutionMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Prune thins executions: keep the latest checkpoint of each namespace (with its
     * writes and channels), or delete everything.
     * </pre>
     */
    public io.checkpointgateway.v1.PruneResponse prune(io.checkpointgateway.v1.PruneRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPruneMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
     * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
     * round trip.
     * </pre>
     */
    public io.checkpointgateway.v1.AncestorsResponse ancestors(io.checkpointgateway.v1.AncestorsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAncestorsMethod(), getCallOptions(), request);
    }
  }

  /**
   */
  public static final class CheckpointServiceFutureStub extends io.grpc.stub.AbstractFutureStub<CheckpointServiceFutureStub> {
    private CheckpointServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected CheckpointServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new CheckpointServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
     * content is a no-op that returns the stored version (so retries are safe); with
     * different content it is ABORTED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.SaveResponse> save(
        io.checkpointgateway.v1.SaveRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSaveMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Load returns one checkpoint with its pending writes.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.LoadResponse> load(
        io.checkpointgateway.v1.LoadRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLoadMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Latest returns the newest checkpoint of a lineage with its pending writes.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.LatestResponse> latest(
        io.checkpointgateway.v1.LatestRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLatestMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * List returns checkpoints newest first, one page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.ListResponse> list(
        io.checkpointgateway.v1.ListRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Delete removes one checkpoint and its pending writes. Deleting a missing
     * checkpoint succeeds with deleted = false.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.DeleteResponse> delete(
        io.checkpointgateway.v1.DeleteRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Clear removes every checkpoint of an execution (one namespace, or all of them).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.ClearResponse> clear(
        io.checkpointgateway.v1.ClearRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getClearMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
     * by (task_id, idx) and never duplicated: for idx &gt;= 0 the first write of a key wins
     * (a retry changes nothing); a special write (idx &lt; 0: LangGraph's error, interrupt,
     * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
     * may send a step's writes before, or alongside, the save of its checkpoint, and Load
     * and Latest return them once it is saved. Writes whose checkpoint never comes go with
     * Delete of that id, Clear, Prune, retention and TTL.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.PutWritesResponse> putWrites(
        io.checkpointgateway.v1.PutWritesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPutWritesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * SaveMany stores several checkpoints in one call, in order, each on its own: every
     * item gets its SaveResponse or its own error (the status Save would have returned),
     * so one conflict does not fail the rest. Saves of one lineage get consecutive
     * versions in request order. The call as a whole fails only when it is refused
     * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
     * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.SaveManyResponse> saveMany(
        io.checkpointgateway.v1.SaveManyRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSaveManyMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
     * point order ("" first), one page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.ListNamespacesResponse> listNamespaces(
        io.checkpointgateway.v1.ListNamespacesRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListNamespacesMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * ListExecutions returns the executions (threads) that hold checkpoints, the most
     * recently saved to first, one page at a time.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.ListExecutionsResponse> listExecutions(
        io.checkpointgateway.v1.ListExecutionsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListExecutionsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Search lists checkpoints across every execution and namespace, newest first
     * (created_at, then execution, namespace and version, descending), filtered by
     * metadata.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.ListResponse> search(
        io.checkpointgateway.v1.SearchRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getSearchMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
     * pending writes, across executions or within one (LangGraph's delete_for_runs).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.DeleteWhereResponse> deleteWhere(
        io.checkpointgateway.v1.DeleteWhereRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getDeleteWhereMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * CopyExecution copies an execution to a new execution id: every namespace, every
     * checkpoint with its id, parent, version, created_at, channels and pending writes.
     * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
     * A reader never sees a half-done copy as complete (see the README per backend).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.CopyExecutionResponse> copyExecution(
        io.checkpointgateway.v1.CopyExecutionRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCopyExecutionMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Prune thins executions: keep the latest checkpoint of each namespace (with its
     * writes and channels), or delete everything.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.PruneResponse> prune(
        io.checkpointgateway.v1.PruneRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPruneMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
     * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
     * round trip.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<io.checkpointgateway.v1.AncestorsResponse> ancestors(
        io.checkpointgateway.v1.AncestorsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAncestorsMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_SAVE = 0;
  private static final int METHODID_LOAD = 1;
  private static final int METHODID_LATEST = 2;
  private static final int METHODID_LIST = 3;
  private static final int METHODID_DELETE = 4;
  private static final int METHODID_CLEAR = 5;
  private static final int METHODID_PUT_WRITES = 6;
  private static final int METHODID_SAVE_MANY = 7;
  private static final int METHODID_LIST_NAMESPACES = 8;
  private static final int METHODID_LIST_EXECUTIONS = 9;
  private static final int METHODID_SEARCH = 10;
  private static final int METHODID_DELETE_WHERE = 11;
  private static final int METHODID_COPY_EXECUTION = 12;
  private static final int METHODID_PRUNE = 13;
  private static final int METHODID_ANCESTORS = 14;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final CheckpointServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(CheckpointServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_SAVE:
          serviceImpl.save((io.checkpointgateway.v1.SaveRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.SaveResponse>) responseObserver);
          break;
        case METHODID_LOAD:
          serviceImpl.load((io.checkpointgateway.v1.LoadRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.LoadResponse>) responseObserver);
          break;
        case METHODID_LATEST:
          serviceImpl.latest((io.checkpointgateway.v1.LatestRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.LatestResponse>) responseObserver);
          break;
        case METHODID_LIST:
          serviceImpl.list((io.checkpointgateway.v1.ListRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListResponse>) responseObserver);
          break;
        case METHODID_DELETE:
          serviceImpl.delete((io.checkpointgateway.v1.DeleteRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.DeleteResponse>) responseObserver);
          break;
        case METHODID_CLEAR:
          serviceImpl.clear((io.checkpointgateway.v1.ClearRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ClearResponse>) responseObserver);
          break;
        case METHODID_PUT_WRITES:
          serviceImpl.putWrites((io.checkpointgateway.v1.PutWritesRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.PutWritesResponse>) responseObserver);
          break;
        case METHODID_SAVE_MANY:
          serviceImpl.saveMany((io.checkpointgateway.v1.SaveManyRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.SaveManyResponse>) responseObserver);
          break;
        case METHODID_LIST_NAMESPACES:
          serviceImpl.listNamespaces((io.checkpointgateway.v1.ListNamespacesRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListNamespacesResponse>) responseObserver);
          break;
        case METHODID_LIST_EXECUTIONS:
          serviceImpl.listExecutions((io.checkpointgateway.v1.ListExecutionsRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListExecutionsResponse>) responseObserver);
          break;
        case METHODID_SEARCH:
          serviceImpl.search((io.checkpointgateway.v1.SearchRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.ListResponse>) responseObserver);
          break;
        case METHODID_DELETE_WHERE:
          serviceImpl.deleteWhere((io.checkpointgateway.v1.DeleteWhereRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.DeleteWhereResponse>) responseObserver);
          break;
        case METHODID_COPY_EXECUTION:
          serviceImpl.copyExecution((io.checkpointgateway.v1.CopyExecutionRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.CopyExecutionResponse>) responseObserver);
          break;
        case METHODID_PRUNE:
          serviceImpl.prune((io.checkpointgateway.v1.PruneRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.PruneResponse>) responseObserver);
          break;
        case METHODID_ANCESTORS:
          serviceImpl.ancestors((io.checkpointgateway.v1.AncestorsRequest) request,
              (io.grpc.stub.StreamObserver<io.checkpointgateway.v1.AncestorsResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class CheckpointServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    CheckpointServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return io.checkpointgateway.v1.CheckpointOuterClass.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("CheckpointService");
    }
  }

  private static final class CheckpointServiceFileDescriptorSupplier
      extends CheckpointServiceBaseDescriptorSupplier {
    CheckpointServiceFileDescriptorSupplier() {}
  }

  private static final class CheckpointServiceMethodDescriptorSupplier
      extends CheckpointServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    CheckpointServiceMethodDescriptorSupplier(String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (CheckpointServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new CheckpointServiceFileDescriptorSupplier())
              .addMethod(getSaveMethod())
              .addMethod(getLoadMethod())
              .addMethod(getLatestMethod())
              .addMethod(getListMethod())
              .addMethod(getDeleteMethod())
              .addMethod(getClearMethod())
              .addMethod(getPutWritesMethod())
              .addMethod(getSaveManyMethod())
              .addMethod(getListNamespacesMethod())
              .addMethod(getListExecutionsMethod())
              .addMethod(getSearchMethod())
              .addMethod(getDeleteWhereMethod())
              .addMethod(getCopyExecutionMethod())
              .addMethod(getPruneMethod())
              .addMethod(getAncestorsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
