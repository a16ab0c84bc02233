"""Other formats: ONNX models in and out, exactly."""
