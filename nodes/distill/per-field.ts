// One object per FeatureField value (a renderer owns the field's evaluator
// and buffers), dropped with the value.

import type { FeatureFieldValue } from '../../engine/values';

export function perField<T>(create: (field: FeatureFieldValue) => T): (field: FeatureFieldValue) => T {
  const cache = new WeakMap<FeatureFieldValue, T>();
  return (field) => {
    let value = cache.get(field);
    if (value === undefined) {
      value = create(field);
      cache.set(field, value);
    }
    return value;
  };
}
