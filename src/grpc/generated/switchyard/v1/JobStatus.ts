// Original file: proto/switchyard/v1/jobs.proto

export const JobStatus = {
  JOB_STATUS_UNSPECIFIED: 'JOB_STATUS_UNSPECIFIED',
  JOB_STATUS_PENDING: 'JOB_STATUS_PENDING',
  JOB_STATUS_RUNNING: 'JOB_STATUS_RUNNING',
  JOB_STATUS_SUCCESS: 'JOB_STATUS_SUCCESS',
  JOB_STATUS_FAILED: 'JOB_STATUS_FAILED',
  JOB_STATUS_CANCELLED: 'JOB_STATUS_CANCELLED',
} as const;

export type JobStatus =
  | 'JOB_STATUS_UNSPECIFIED'
  | 0
  | 'JOB_STATUS_PENDING'
  | 1
  | 'JOB_STATUS_RUNNING'
  | 2
  | 'JOB_STATUS_SUCCESS'
  | 3
  | 'JOB_STATUS_FAILED'
  | 4
  | 'JOB_STATUS_CANCELLED'
  | 5

export type JobStatus__Output = typeof JobStatus[keyof typeof JobStatus]
