// Two InferenceObjectives the scale-from-zero tests send requests under (priority 10 and 5;
// a request naming neither is priority 0): YAML documents to append to a Gateway config.
export const priorityObjectives = `---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: high}
spec: {priority: 10}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: mid}
spec: {priority: 5}
`;
