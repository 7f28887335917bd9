/*
 * exectool.h - the exec tool's handler (exectool.c), for the route table.
 */
#ifndef SN_API_EXECTOOL_H
#define SN_API_EXECTOOL_H

struct api_req;

/* POST /v1/workspaces/{id}/tools/exec (permission exec, a grant). */
void h_exec(struct api_req *rq);

#endif
